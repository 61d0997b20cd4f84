#include "json.h"

#include <cinttypes>
#include <cstdio>

namespace probe {

void JsonWriter::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back()) out_ += ',';
    first_.back() = false;
  }
}

void JsonWriter::begin_object() {
  before_value();
  out_ += '{';
  first_.push_back(true);
}

void JsonWriter::end_object() {
  out_ += '}';
  first_.pop_back();
}

void JsonWriter::begin_array() {
  before_value();
  out_ += '[';
  first_.push_back(true);
}

void JsonWriter::end_array() {
  out_ += ']';
  first_.pop_back();
}

void JsonWriter::key(std::string_view name) {
  before_value();
  append_escaped(name);
  out_ += ':';
  after_key_ = true;
}

void JsonWriter::string(std::string_view s) {
  before_value();
  append_escaped(s);
}

void JsonWriter::number(int64_t n) {
  before_value();
  char buf[32];
  snprintf(buf, sizeof buf, "%" PRId64, n);
  out_ += buf;
}

void JsonWriter::unsigned_number(uint64_t n) {
  before_value();
  char buf[32];
  snprintf(buf, sizeof buf, "%" PRIu64, n);
  out_ += buf;
}

void JsonWriter::boolean(bool b) {
  before_value();
  out_ += b ? "true" : "false";
}

void JsonWriter::null() {
  before_value();
  out_ += "null";
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 if the bytes there are
// not one (overlong forms, surrogates and code points past U+10FFFF are invalid).
static size_t utf8_sequence_length(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  size_t len;
  uint32_t cp;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; k++) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3f);
  }
  if (len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) return 0;
  if (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) return 0;
  return len;
}

// Quotes and escapes s. Control characters become \uXXXX; bytes that are not valid
// UTF-8 (possible in file names, env and mount sources) become U+FFFD, so the output
// is always valid JSON.
void JsonWriter::append_escaped(std::string_view s) {
  out_ += '"';
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out_ += "\\\""; break;
        case '\\': out_ += "\\\\"; break;
        case '\n': out_ += "\\n"; break;
        case '\r': out_ += "\\r"; break;
        case '\t': out_ += "\\t"; break;
        case '\b': out_ += "\\b"; break;
        case '\f': out_ += "\\f"; break;
        default:
          if (c < 0x20 || c == 0x7f) {
            char buf[8];
            snprintf(buf, sizeof buf, "\\u%04x", c);
            out_ += buf;
          } else {
            out_ += static_cast<char>(c);
          }
      }
      i++;
      continue;
    }
    size_t len = utf8_sequence_length(s, i);
    if (len == 0) {
      out_ += "\\ufffd";
      i++;
    } else {
      out_.append(s.substr(i, len));
      i += len;
    }
  }
  out_ += '"';
}

}  // namespace probe
