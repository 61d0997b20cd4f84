// rtnetlink primitives for linux.netDevices (see netlink.h). Each request is one message
// with NLM_F_ACK, answered by its replies and an NLMSG_ERROR (0: done) or, for a dump,
// NLMSG_DONE. A failure becomes an Error with code and errno, and `extack` when the kernel
// said why in an extended ack ("Invalid name", ...).
#include "netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "errors.h"

namespace hako {
namespace {

// One request being built: the header, a fixed struct, then attributes, each 4-aligned.
class Request {
 public:
  Request(uint16_t type, uint16_t flags) : buf_(NLMSG_HDRLEN) {
    hdr()->nlmsg_type = type;
    hdr()->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK | flags);
    hdr()->nlmsg_len = NLMSG_HDRLEN;
  }
  nlmsghdr* hdr() { return reinterpret_cast<nlmsghdr*>(buf_.data()); }
  const std::vector<uint8_t>& bytes() const { return buf_; }

  void put(const void* data, size_t len) {
    size_t at = grow(NLMSG_ALIGN(len));
    memcpy(buf_.data() + at, data, len);
  }
  void attr(uint16_t type, const void* data, size_t len) {
    size_t at = grow(RTA_SPACE(len));
    rtattr a{};
    a.rta_len = static_cast<uint16_t>(RTA_LENGTH(len));
    a.rta_type = type;
    memcpy(buf_.data() + at, &a, sizeof a);
    memcpy(buf_.data() + at + RTA_LENGTH(0), data, len);
  }
  void attr_string(uint16_t type, const std::string& s) { attr(type, s.c_str(), s.size() + 1); }

 private:
  size_t grow(size_t n) {
    size_t at = NLMSG_ALIGN(buf_.size());
    buf_.resize(at + n);
    hdr()->nlmsg_len = static_cast<uint32_t>(buf_.size());
    return at;
  }
  std::vector<uint8_t> buf_;
};

struct Failure {
  int err = 0;
  std::string extack;
};

// The kernel's NLMSGERR_ATTR_MSG, when the error carries one (NETLINK_EXT_ACK; with
// NETLINK_CAP_ACK the request is not echoed, so the attributes follow struct nlmsgerr).
std::string extack_message(const nlmsghdr* h) {
  if (!(h->nlmsg_flags & NLM_F_ACK_TLVS)) return "";
  const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
  size_t skip = sizeof(nlmsgerr);
  if (!(h->nlmsg_flags & NLM_F_CAPPED)) skip += e->msg.nlmsg_len - NLMSG_HDRLEN;
  size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(skip);
  while (off + sizeof(nlattr) <= h->nlmsg_len) {
    const auto* a = reinterpret_cast<const nlattr*>(reinterpret_cast<const uint8_t*>(h) + off);
    if (a->nla_len < sizeof(nlattr) || off + a->nla_len > h->nlmsg_len) break;
    if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
      const char* s = reinterpret_cast<const char*>(a) + NLA_HDRLEN;
      return std::string(s, strnlen(s, a->nla_len - NLA_HDRLEN));
    }
    off += NLA_ALIGN(a->nla_len);
  }
  return "";
}

// Sends req on sock and hands each reply message of it to on_reply; 0 or an errno.
int transact(int sock, Request& req, const std::function<void(const nlmsghdr*)>& on_reply, Failure* why) {
  static std::atomic<uint32_t> next_seq{1};
  const uint32_t seq = next_seq++;
  req.hdr()->nlmsg_seq = seq;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t sent;
  do sent = ::sendto(sock, req.bytes().data(), req.bytes().size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
  while (sent < 0 && errno == EINTR);
  if (sent < 0) return why->err = errno;

  std::vector<uint8_t> buf(64 * 1024);
  for (;;) {
    iovec iov{buf.data(), buf.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    ssize_t n;
    do n = ::recvmsg(sock, &msg, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) return why->err = errno;
    if (msg.msg_flags & MSG_TRUNC) return why->err = EMSGSIZE;
    int left = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_seq != seq) continue;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
        if (e->error == 0) return 0;
        why->extack = extack_message(h);
        return why->err = -e->error;
      }
      if (h->nlmsg_type == NLMSG_DONE) {
        int status = 0;
        if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) memcpy(&status, NLMSG_DATA(h), sizeof status);
        return why->err = status < 0 ? -status : 0;
      }
      on_reply(h);
    }
  }
}

Napi::Error netlink_error(Napi::Env env, const Failure& f, const std::string& what) {
  Napi::Error e = errno_error(env, f.err, what.c_str());
  if (!f.extack.empty()) {
    e.Set("extack", Napi::String::New(env, f.extack));
    e.Set("message", Napi::String::New(env, e.Message() + " (" + f.extack + ")"));
  }
  return e;
}

// The attributes after a fixed struct of `fixed` bytes in message h.
template <typename Fn>
void each_attr(const nlmsghdr* h, size_t fixed, Fn fn) {
  int len = static_cast<int>(h->nlmsg_len) - static_cast<int>(NLMSG_LENGTH(fixed));
  auto* a = reinterpret_cast<const rtattr*>(reinterpret_cast<const uint8_t*>(NLMSG_DATA(h)) + NLMSG_ALIGN(fixed));
  for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) fn(a);
}

int open_socket() {
  int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return -errno;
  int on = 1;
  // Both only improve the error messages: kernels without them still work.
  (void)::setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof on);
  (void)::setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof on);
  return fd;
}

// A socket made on a short-lived thread of its own that first joins the network namespace
// at ns_fd: a socket keeps the namespace it was made in, the thread's change dies with it.
struct InNamespace {
  int ns_fd;
  int result = -EINVAL;  // the socket, or -errno
  const char* failed = "socket";
};

void* open_in_namespace(void* arg) {
  auto* job = static_cast<InNamespace*>(arg);
  if (::setns(job->ns_fd, CLONE_NEWNET) < 0) {
    job->result = -errno;
    job->failed = "setns";
    return nullptr;
  }
  job->result = open_socket();
  return nullptr;
}

// rtnlOpen(nsPath?) -> fd: a NETLINK_ROUTE socket in hako's network namespace or nsPath's.
Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || info[0].IsUndefined()) {
    int fd = open_socket();
    if (fd < 0) throw_errno(env, -fd, "socket(AF_NETLINK)");
    return fd < 0 ? env.Undefined() : Napi::Number::New(env, fd);
  }
  std::string path = info[0].As<Napi::String>();
  unique_fd ns(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) {
    throw_errno(env, errno, "open", path.c_str());
    return env.Undefined();
  }
  InNamespace job{ns.get()};
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  pthread_t thread;
  int err = pthread_create(&thread, nullptr, open_in_namespace, &job);
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  if (err != 0) {
    throw_errno(env, err, "pthread_create");
    return env.Undefined();
  }
  pthread_join(thread, nullptr);
  if (job.result < 0) {
    throw_errno(env, -job.result, job.failed, path.c_str());
    return env.Undefined();
  }
  return Napi::Number::New(env, job.result);
}

// rtnlLink(sock, nameOrIndex) -> { index, name, up } | null (no such link)
Napi::Value Link(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sock = info[0].As<Napi::Number>().Int32Value();
  Request req(RTM_GETLINK, 0);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  std::string what;
  if (info[1].IsNumber()) {
    ifi.ifi_index = info[1].As<Napi::Number>().Int32Value();
    req.put(&ifi, sizeof ifi);
    what = "RTM_GETLINK index " + std::to_string(ifi.ifi_index);
  } else {
    std::string name = info[1].As<Napi::String>();
    req.put(&ifi, sizeof ifi);
    req.attr_string(IFLA_IFNAME, name);
    what = "RTM_GETLINK " + name;
  }
  bool found = false;
  int index = 0;
  unsigned flags = 0;
  std::string name;
  Failure why;
  int err = transact(sock, req, [&](const nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWLINK || found) return;
    const auto* got = static_cast<const ifinfomsg*>(NLMSG_DATA(h));
    found = true;
    index = got->ifi_index;
    flags = got->ifi_flags;
    each_attr(h, sizeof(ifinfomsg), [&](const rtattr* a) {
      if (a->rta_type == IFLA_IFNAME) {
        const char* s = static_cast<const char*>(RTA_DATA(a));
        name.assign(s, strnlen(s, RTA_PAYLOAD(a)));
      }
    });
  }, &why);
  if (err == ENODEV) return env.Null();
  if (err != 0) {
    netlink_error(env, why, what).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!found) return env.Null();
  Napi::Object out = Napi::Object::New(env);
  out.Set("index", index);
  out.Set("name", name);
  out.Set("up", (flags & IFF_UP) != 0);
  return out;
}

std::string format_address(int family, const rtattr* a) {
  char text[INET6_ADDRSTRLEN] = "";
  size_t need = family == AF_INET ? 4 : 16;
  if (RTA_PAYLOAD(a) < need || !::inet_ntop(family, RTA_DATA(a), text, sizeof text)) return "";
  return text;
}

// rtnlAddresses(sock, index) -> [{ family: 4|6, prefixlen, flags, scope, address, local?, broadcast? }]
Napi::Value Addresses(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sock = info[0].As<Napi::Number>().Int32Value();
  uint32_t index = info[1].As<Napi::Number>().Uint32Value();
  Request req(RTM_GETADDR, NLM_F_DUMP);
  ifaddrmsg ifa{};
  ifa.ifa_family = AF_UNSPEC;
  req.put(&ifa, sizeof ifa);
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  Failure why;
  int err = transact(sock, req, [&](const nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWADDR) return;
    const auto* got = static_cast<const ifaddrmsg*>(NLMSG_DATA(h));
    if (got->ifa_index != index || (got->ifa_family != AF_INET && got->ifa_family != AF_INET6)) return;
    uint32_t flags = got->ifa_flags;
    std::string address, local, broadcast;
    each_attr(h, sizeof(ifaddrmsg), [&](const rtattr* a) {
      if (a->rta_type == IFA_ADDRESS) address = format_address(got->ifa_family, a);
      if (a->rta_type == IFA_LOCAL) local = format_address(got->ifa_family, a);
      if (a->rta_type == IFA_BROADCAST) broadcast = format_address(got->ifa_family, a);
      if (a->rta_type == IFA_FLAGS && RTA_PAYLOAD(a) >= 4) memcpy(&flags, RTA_DATA(a), 4);
    });
    Napi::Object o = Napi::Object::New(env);
    o.Set("family", got->ifa_family == AF_INET ? 4 : 6);
    o.Set("prefixlen", got->ifa_prefixlen);
    o.Set("flags", flags);
    o.Set("scope", got->ifa_scope);
    o.Set("address", address);
    if (!local.empty()) o.Set("local", local);
    if (!broadcast.empty()) o.Set("broadcast", broadcast);
    out.Set(n++, o);
  }, &why);
  if (err != 0) {
    netlink_error(env, why, "RTM_GETADDR").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return out;
}

// rtnlSetUp(sock, index, up)
Napi::Value SetUp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sock = info[0].As<Napi::Number>().Int32Value();
  Request req(RTM_NEWLINK, 0);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = info[1].As<Napi::Number>().Int32Value();
  ifi.ifi_flags = info[2].ToBoolean() ? IFF_UP : 0;
  ifi.ifi_change = IFF_UP;
  req.put(&ifi, sizeof ifi);
  Failure why;
  if (transact(sock, req, [](const nlmsghdr*) {}, &why) != 0) {
    netlink_error(env, why, std::string("RTM_NEWLINK index ") + std::to_string(ifi.ifi_index) + (ifi.ifi_flags ? " up" : " down"))
        .ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

// rtnlMove(sock, index, nsPath, name): into the network namespace at nsPath, named name,
// in one request (a rename apart could clash with a name on either side).
Napi::Value Move(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sock = info[0].As<Napi::Number>().Int32Value();
  int index = info[1].As<Napi::Number>().Int32Value();
  std::string path = info[2].As<Napi::String>();
  std::string name = info[3].As<Napi::String>();
  unique_fd ns(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) {
    throw_errno(env, errno, "open", path.c_str());
    return env.Undefined();
  }
  Request req(RTM_NEWLINK, 0);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = index;
  req.put(&ifi, sizeof ifi);
  req.attr_string(IFLA_IFNAME, name);
  uint32_t fd = static_cast<uint32_t>(ns.get());
  req.attr(IFLA_NET_NS_FD, &fd, sizeof fd);
  Failure why;
  if (transact(sock, req, [](const nlmsghdr*) {}, &why) != 0) {
    netlink_error(env, why, "RTM_NEWLINK index " + std::to_string(index) + " IFLA_NET_NS_FD " + path + " IFLA_IFNAME " + name)
        .ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

// rtnlAddAddress(sock, index, { family, prefixlen, address, flags?, broadcast?, scope? }):
// scope global unless given, the address as both IFA_LOCAL and IFA_ADDRESS (no peer),
// flags as IFA_FLAGS.
Napi::Value AddAddress(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sock = info[0].As<Napi::Number>().Int32Value();
  uint32_t index = info[1].As<Napi::Number>().Uint32Value();
  Napi::Object a = info[2].As<Napi::Object>();
  int family = a.Get("family").As<Napi::Number>().Int32Value() == 4 ? AF_INET : AF_INET6;
  std::string address = a.Get("address").As<Napi::String>();
  uint8_t bytes[16];
  if (::inet_pton(family, address.c_str(), bytes) != 1) {
    throw_errno(env, EINVAL, "inet_pton", address.c_str());
    return env.Undefined();
  }
  size_t len = family == AF_INET ? 4 : 16;
  Request req(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  ifaddrmsg ifa{};
  ifa.ifa_family = static_cast<uint8_t>(family);
  ifa.ifa_prefixlen = static_cast<uint8_t>(a.Get("prefixlen").As<Napi::Number>().Uint32Value());
  ifa.ifa_scope = a.Has("scope") ? static_cast<uint8_t>(a.Get("scope").As<Napi::Number>().Uint32Value()) : RT_SCOPE_UNIVERSE;
  ifa.ifa_index = index;
  uint32_t flags = a.Has("flags") ? a.Get("flags").As<Napi::Number>().Uint32Value() : 0;
  ifa.ifa_flags = static_cast<uint8_t>(flags & 0xff);
  req.put(&ifa, sizeof ifa);
  req.attr(IFA_LOCAL, bytes, len);
  req.attr(IFA_ADDRESS, bytes, len);
  if (flags != 0) req.attr(IFA_FLAGS, &flags, sizeof flags);
  if (a.Has("broadcast") && a.Get("broadcast").IsString()) {
    std::string text = a.Get("broadcast").As<Napi::String>();
    uint8_t brd[4];
    if (family != AF_INET || ::inet_pton(AF_INET, text.c_str(), brd) != 1) {
      throw_errno(env, EINVAL, "inet_pton", text.c_str());
      return env.Undefined();
    }
    req.attr(IFA_BROADCAST, brd, 4);
  }
  Failure why;
  if (transact(sock, req, [](const nlmsghdr*) {}, &why) != 0) {
    netlink_error(env, why, "RTM_NEWADDR " + address + "/" + std::to_string(ifa.ifa_prefixlen) + " index " + std::to_string(index))
        .ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

}  // namespace

void RegisterNetlink(Napi::Env env, Napi::Object exports) {
  exports.Set("rtnlOpen", Napi::Function::New(env, Open, "rtnlOpen"));
  exports.Set("rtnlLink", Napi::Function::New(env, Link, "rtnlLink"));
  exports.Set("rtnlAddresses", Napi::Function::New(env, Addresses, "rtnlAddresses"));
  exports.Set("rtnlSetUp", Napi::Function::New(env, SetUp, "rtnlSetUp"));
  exports.Set("rtnlMove", Napi::Function::New(env, Move, "rtnlMove"));
  exports.Set("rtnlAddAddress", Napi::Function::New(env, AddAddress, "rtnlAddAddress"));
}

}  // namespace hako
