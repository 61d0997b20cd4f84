// A minimal streaming JSON writer for hako-probe: objects, arrays, strings, numbers,
// booleans and null, appended to one std::string. No exceptions, no third-party code.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace probe {

class JsonWriter {
 public:
  void begin_object();
  void end_object();
  void begin_array();
  void end_array();

  // Inside an object: the member name; the next value call writes its value.
  void key(std::string_view name);

  void string(std::string_view s);
  void number(int64_t n);
  void unsigned_number(uint64_t n);
  void boolean(bool b);
  void null();

  // Shorthands for "name": value.
  void field(std::string_view name, std::string_view s) { key(name); string(s); }
  void field(std::string_view name, const char* s) { key(name); string(s); }
  void field(std::string_view name, int n) { key(name); number(n); }
  void field(std::string_view name, long n) { key(name); number(n); }
  void field(std::string_view name, long long n) { key(name); number(n); }
  void field(std::string_view name, unsigned n) { key(name); unsigned_number(n); }
  void field(std::string_view name, unsigned long n) { key(name); unsigned_number(n); }
  void field(std::string_view name, unsigned long long n) { key(name); unsigned_number(n); }
  void field(std::string_view name, bool b) { key(name); boolean(b); }
  void null_field(std::string_view name) { key(name); null(); }

  const std::string& text() const { return out_; }

 private:
  // Writes the comma that separates this value from the previous one, if needed.
  void before_value();
  void append_escaped(std::string_view s);

  std::string out_;
  std::vector<bool> first_;  // one entry per open container: no member written yet
  bool after_key_ = false;
};

}  // namespace probe
