// The org.systemd.property.* annotations as unit properties (src/cgroups/systemd-annotations.ts):
// the value forms runc 1.1.5 takes (godbus's GVariant text parser), the Sec -> USec
// conversion, and runc's errors. Against a real systemd: test/helpers/systemd-driver-suite.ts.
import t from 'tap';
import { annotationProperties, parseVariant } from '../../src/cgroups/systemd-annotations.js';

const one = (key: string, value: string): unknown => annotationProperties({ [key]: value });
const P = 'org.systemd.property.';

t.test('values: typed and untyped numbers, strings, booleans', async (t) => {
  t.same(one(`${P}TimeoutStopUSec`, 'uint64 123456789'), [['TimeoutStopUSec', 't', 123456789n]]);
  t.same(one(`${P}CollectMode`, "'inactive-or-failed'"), [['CollectMode', 's', 'inactive-or-failed']]);
  t.same(one(`${P}CollectMode`, '"inactive-or-failed"'), [['CollectMode', 's', 'inactive-or-failed']]);
  t.same(one(`${P}SendSIGHUP`, 'true'), [['SendSIGHUP', 'b', true]]);
  t.same(one(`${P}SendSIGHUP`, 'boolean false'), [['SendSIGHUP', 'b', false]]);
  // an untyped integer is an int32, one with "." or "e" a double
  t.same(one(`${P}FooBar`, '123'), [['FooBar', 'i', 123]]);
  t.same(one(`${P}FooBar`, '-7'), [['FooBar', 'i', -7]]);
  t.same(one(`${P}FooBar`, '1.5'), [['FooBar', 'd', 1.5]]);
  t.same(one(`${P}FooBar`, '0x10'), [['FooBar', 'i', 16]]);
  t.same(one(`${P}FooBar`, '010'), [['FooBar', 'i', 8]]);
  t.same(one(`${P}FooBar`, 'byte 200'), [['FooBar', 'y', 200]]);
  t.same(one(`${P}FooBar`, 'int64 -5'), [['FooBar', 'x', -5n]]);
  t.same(one(`${P}FooBar`, "objectpath '/a/b'"), [['FooBar', 'o', '/a/b']]);
  t.same(one(`${P}FooBar`, "'a\\tb\\u00e9'"), [['FooBar', 's', 'a\tb\u00e9']]);
  // only the first value is read
  t.same(one(`${P}FooBar`, 'true and the rest'), [['FooBar', 'b', true]]);
});

t.test('values: arrays, dicts, variants, byte strings', async (t) => {
  t.same(parseVariant("['a.service', 'b.service']"), { sig: 'as', value: ['a.service', 'b.service'] });
  t.same(parseVariant('[1, 2, 3]'), { sig: 'ai', value: [1, 2, 3] });
  t.same(parseVariant('[uint32 1, 2]'), { sig: 'au', value: [1, 2] });
  t.same(parseVariant('@as []'), { sig: 'as', value: [] });
  t.same(parseVariant('<uint64 5>'), { sig: 'v', value: { signature: 't', value: 5n } });
  t.same(parseVariant("{'a': 1, 'b': 2}"), { sig: 'a{si}', value: [['a', 1], ['b', 2]] });
  t.same(parseVariant("{'a': 1, 'a': 2}"), { sig: 'a{si}', value: [['a', 2]] }, 'one entry per key, as a Go map');
  t.same(parseVariant("b'ab\\n'"), { sig: 'ay', value: [97, 98, 10, 0] }, 'godbus ends a byte string with a NUL');
  t.same(parseVariant('[[1], [2, 3]]'), { sig: 'aai', value: [[1], [2, 3]] });
});

t.test('a lowercase letter then "Sec": the USec property, in microseconds', async (t) => {
  for (const [text, usec] of [
    ['456', 456000000n],
    ['byte 234', 234000000n],
    ['int16 234', 234000000n],
    ['uint16 234', 234000000n],
    ['int32 234', 234000000n],
    ['uint32 234', 234000000n],
    ['int64 234', 234000000n],
    ['uint64 234', 234000000n],
    ['234.789', 234789000n],
  ] as const) {
    t.same(one(`${P}TimeoutStopSec`, text), [['TimeoutStopUSec', 't', usec]], text);
  }
  t.same(one(`${P}FOOSec`, '123'), [['FOOSec', 'i', 123]], 'an uppercase letter before Sec: no conversion');
  t.throws(() => one(`${P}TimeoutStopSec`, 'false'), {
    message: `annotation ${P}TimeoutStopSec=false value parse error: not a number`,
  });
  t.throws(() => one(`${P}TimeoutStopSec`, "'covfefe'"), {
    message: `annotation ${P}TimeoutStopSec='covfefe' value parse error: not a number`,
  });
});

t.test("runc's errors for bad names and values", async (t) => {
  t.same(annotationProperties({ 'some.other.annotation': '0' }), [], 'other annotations are not properties');
  t.same(annotationProperties(undefined), []);
  t.throws(() => one(`${P}Xo`, '1'), { message: `annotation ${P}Xo name incorrect: too short` });
  t.throws(() => one(`${P}Number1`, '1'), { message: `annotation ${P}Number1 name incorrect: contains non-alphabetic character` });
  const bad: [string, string][] = [
    ['invalid-value', 'unrecognized type "invalid-value"'],
    ['', 'unexpected EOF'],
    ["'open", 'unterminated string'],
    ['12ab', 'bad number syntax: "12a"'],
    ['uint64 -1', 'strconv.ParseUint: parsing "-1": invalid syntax'],
    ['byte 300', 'strconv.ParseUint: parsing "300": value out of range'],
    ['int32 99999999999', 'strconv.ParseInt: parsing "99999999999": value out of range'],
    ['99999999999', 'strconv.ParseInt: parsing "99999999999": value out of range'],
    ['double 1.5', 'dbus: can\'t parse "1.5" as type "f"'],
    ['uint64 true', 'dbus: can\'t parse "true" as type "t"'],
    ["uint64 'x'", 'invalid type "t" for string'],
    ['[]', 'can\'t infer type for "[]"'],
    ["[1, 'a']", 'can\'t parse "a" with given type information'],
    ['[1, 2', 'unexpected EOF'],
    ['[1 2]', 'unexpected "2"'],
    ['<1', 'unexpected ""'],
    ['uint64 uint64 1', 'unexpected type annotation'],
    [']', 'unexpected "]"'],
    ['@zz 1', 'dbus: invalid signature: "zz" (invalid type character)'],
    ['@a{s} {}', 'dbus: invalid signature: "" (empty signature)'],
    ['@a{sss} {}', 'dbus: invalid signature: "sss" (too many types in dict)'],
    ['@(s []', 'dbus: invalid signature: "(s" (unmatched \')\')'],
  ];
  for (const [value, reason] of bad) {
    t.throws(() => one(`${P}ValidName`, value), { message: `annotation ${P}ValidName=${value} value parse error: ${reason}` }, value);
  }
});
