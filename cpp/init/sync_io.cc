#include "init/sync_io.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "init/sys.h"

namespace hako {
namespace {

uint32_t get_u32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

// Reads exactly n bytes. Returns 0, the errno of a failure, or -1 on end of file.
int read_exact(int fd, void* buf, size_t n) {
  auto* p = static_cast<char*>(buf);
  while (n > 0) {
    ssize_t r = ::read(fd, p, n);
    if (r < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (r == 0) return -1;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return 0;
}

// Writes all of data; MSG_NOSIGNAL so a parent that went away gives EPIPE, not SIGPIPE.
int send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOTSOCK) return write_all(fd, data);  // a pipe, in tests
      return errno;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

const char* msg_name(uint32_t type) {
  switch (type) {
    case MSG_PLAN: return "PLAN";
    case MSG_MAPS_WRITTEN: return "MAPS_WRITTEN";
    case MSG_HOOKS_DONE: return "HOOKS_DONE";
    case MSG_NEED_MAPS: return "NEED_MAPS";
    case MSG_INIT_PID: return "INIT_PID";
    case MSG_RUN_HOOKS: return "RUN_HOOKS";
    case MSG_READY: return "READY";
    case MSG_ERROR: return "ERROR";
    default: return "unknown";
  }
}

}  // namespace

void put_u32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; i++) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_str(std::string* out, std::string_view s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

Result SyncSocket::send(uint32_t type, std::string_view payload) {
  if (payload.size() > SYNC_MAX_FRAME - 4) return step_error(EMSGSIZE, "sync", std::string("send ") + msg_name(type));
  std::string frame;
  frame.reserve(8 + payload.size());
  put_u32(&frame, static_cast<uint32_t>(4 + payload.size()));
  put_u32(&frame, type);
  frame.append(payload);
  int err = send_all(fd_, frame);
  if (err != 0) return step_error(err, "sync", std::string("send ") + msg_name(type) + " to the parent");
  return std::nullopt;
}

Result SyncSocket::recv(uint32_t* type, std::string* payload) {
  unsigned char head[8];
  int err = read_exact(fd_, head, sizeof head);
  if (err == -1) return step_error(0, "sync", "the parent closed the sync socket");
  if (err != 0) return step_error(err, "sync", "read from the sync socket");
  uint32_t len = get_u32(head);
  if (len < 4 || len > SYNC_MAX_FRAME) {
    return step_error(EPROTO, "sync", "bad frame length " + std::to_string(len) + " on the sync socket");
  }
  *type = get_u32(head + 4);
  payload->assign(len - 4, '\0');
  err = read_exact(fd_, payload->data(), payload->size());
  if (err == -1) return step_error(0, "sync", "the parent closed the sync socket in the middle of a frame");
  if (err != 0) return step_error(err, "sync", "read from the sync socket");
  return std::nullopt;
}

Result SyncSocket::expect(uint32_t type, std::string* payload) {
  uint32_t got = 0;
  std::string data;
  if (auto e = recv(&got, &data)) {
    e->message += std::string(" (waiting for ") + msg_name(type) + ")";
    return e;
  }
  if (got == MSG_ERROR) {
    return step_error(0, "sync", std::string("the parent gave up while we waited for ") + msg_name(type));
  }
  if (got != type) {
    return step_error(EPROTO, "sync",
                      std::string("expected message ") + msg_name(type) + ", got " + msg_name(got) + " (" +
                          std::to_string(got) + ")");
  }
  if (payload != nullptr) *payload = std::move(data);
  return std::nullopt;
}

void SyncSocket::send_error(const StepError& error) {
  std::string payload;
  put_u32(&payload, static_cast<uint32_t>(error.err));
  put_str(&payload, error.step);
  put_str(&payload, clip_message(error.message));
  (void)send(MSG_ERROR, payload);
}

void SyncSocket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace hako
