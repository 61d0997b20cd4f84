// Frames of the sync protocol (common/sync.h) over the socket shared with hako:
// u32 length (of type + payload), u32 type, payload; little-endian.
#pragma once

#include <stdint.h>

#include <string>
#include <string_view>

#include "common/sync.h"
#include "init/step.h"

namespace hako {

// Payload builders: a u32, and a str (u32 length + bytes).
void put_u32(std::string* out, uint32_t v);
void put_str(std::string* out, std::string_view s);

class SyncSocket {
 public:
  explicit SyncSocket(int fd) : fd_(fd) {}
  SyncSocket(const SyncSocket&) = delete;
  SyncSocket& operator=(const SyncSocket&) = delete;
  ~SyncSocket() { close(); }

  int fd() const { return fd_; }

  // One whole frame, written with as few send(2)s as the socket allows.
  Result send(uint32_t type, std::string_view payload = {});

  // The next whole frame.
  Result recv(uint32_t* type, std::string* payload);

  // The next frame, which must be `type`. A MSG_ERROR from the parent, an unexpected
  // type or EOF is an error of step "sync".
  Result expect(uint32_t type, std::string* payload = nullptr);

  // MSG_ERROR {u32 errno, str step, str message}; best effort (the caller exits next).
  void send_error(const StepError& error);

  void close();

 private:
  int fd_;
};

}  // namespace hako
