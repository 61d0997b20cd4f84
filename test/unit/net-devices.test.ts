// linux.netDevices, the decisions (src/plan/net-devices.ts): which devices move under which
// names and pointers, and which of their addresses go with them. The moving itself is in
// test/integration/net-devices.test.ts.
import t from 'tap';
import { defaultSpec } from '../../src/oci/default-spec.js';
import { addressesToKeep, addressesToRestore, isNameTemplate, matchesTemplate, planNetDevices, type LinkAddress } from '../../src/plan/net-devices.js';

t.test('planNetDevices: the config order, the name inside, where each comes from', async (t) => {
  const spec = defaultSpec();
  t.same(planNetDevices(spec), [], 'none asked for');
  spec.linux!.netDevices = { veth9: {}, 'a/b': { name: 'c0' }, eth1: { name: '' } };
  t.same(planNetDevices(spec), [
    { hostName: 'veth9', name: 'veth9', pointer: '/linux/netDevices/veth9', namePointer: '/linux/netDevices/veth9' },
    { hostName: 'a/b', name: 'c0', pointer: '/linux/netDevices/a~1b', namePointer: '/linux/netDevices/a~1b/name' },
    { hostName: 'eth1', name: 'eth1', pointer: '/linux/netDevices/eth1', namePointer: '/linux/netDevices/eth1' },
  ]);
});

t.test('name templates', async (t) => {
  t.ok(isNameTemplate('eth%d'));
  t.notOk(isNameTemplate('eth0'));
  t.ok(matchesTemplate('eth%d', 'eth0'));
  t.ok(matchesTemplate('eth%d', 'eth12'));
  t.ok(matchesTemplate('c%dx', 'c3x'));
  t.notOk(matchesTemplate('eth%d', 'eth'));
  t.notOk(matchesTemplate('eth%d', 'eth01'));
  t.notOk(matchesTemplate('eth%d', 'ethx'));
  t.notOk(matchesTemplate('eth%d', 'veth0'));
  t.notOk(matchesTemplate('eth0', 'eth0'), 'not a template');
});

t.test('addressesToKeep: permanent and global, both families, with broadcast and the flags a user sets', async (t) => {
  const PERMANENT = 0x80;
  const NODAD = 0x02;
  const TENTATIVE = 0x40;
  const addresses: LinkAddress[] = [
    { family: 4, prefixlen: 24, flags: PERMANENT, scope: 0, address: '10.0.0.1', local: '10.0.0.1', broadcast: '10.0.0.255' },
    { family: 4, prefixlen: 32, flags: PERMANENT, scope: 0, address: '10.9.9.9', local: '10.0.0.2' },
    { family: 4, prefixlen: 8, flags: PERMANENT, scope: 254, address: '127.0.0.33', local: '127.0.0.33' },
    { family: 4, prefixlen: 24, flags: 0, scope: 0, address: '192.168.1.7', local: '192.168.1.7' },
    { family: 6, prefixlen: 64, flags: PERMANENT | NODAD | TENTATIVE, scope: 0, address: 'fd00::1' },
    { family: 6, prefixlen: 64, flags: PERMANENT, scope: 253, address: 'fe80::1' },
    { family: 6, prefixlen: 64, flags: 0x100 | 0x200, scope: 0, address: '2001:db8::5' },
  ];
  t.same(addressesToKeep(addresses), [
    { family: 4, prefixlen: 24, address: '10.0.0.1', broadcast: '10.0.0.255' },
    { family: 4, prefixlen: 32, address: '10.0.0.2' },
    { family: 6, prefixlen: 64, address: 'fd00::1', flags: NODAD },
  ], 'host and link scope, and addresses the kernel or DHCP made, stay behind; a peer is dropped (runc); tentative is the kernel\'s');
});

t.test('addressesToRestore: every permanent address, any scope, for a device that must go back to the host', async (t) => {
  const addresses: LinkAddress[] = [
    { family: 4, prefixlen: 24, flags: 0x80, scope: 0, address: '10.0.0.1', local: '10.0.0.1' },
    { family: 4, prefixlen: 24, flags: 0x80, scope: 254, address: '10.1.0.1', local: '10.1.0.1', broadcast: '10.1.0.255' },
    { family: 6, prefixlen: 64, flags: 0x80 | 0x02, scope: 253, address: 'fe80::99' },
    { family: 6, prefixlen: 64, flags: 0, scope: 253, address: 'fe80::1' },
  ];
  t.same(addressesToRestore(addresses), [
    { family: 4, prefixlen: 24, address: '10.0.0.1' },
    { family: 4, prefixlen: 24, address: '10.1.0.1', broadcast: '10.1.0.255', scope: 254 },
    { family: 6, prefixlen: 64, address: 'fe80::99', flags: 0x02, scope: 253 },
  ], 'the kernel\'s own link-local address is not added back: the kernel makes it again');
});
