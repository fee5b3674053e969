// Neighbour and link facts over a raw NETLINK_ROUTE socket (no iproute2 child process): the
// managed neighbour entries (NTF_EXT_MANAGED, Linux 5.16+) that keep on-segment backends resolved
// for bpf_fib_lookup, their dump, and an interface's kind (veth?). Batches and dumps run on the
// libuv thread pool and resolve a Promise; the socket is opened on the calling thread, so it
// belongs to that thread's network namespace (xdpSetNetns in tests).
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "netlink.h"
#include "registry.h"
#include "util.h"

#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

namespace edgelb {

namespace {

// A NETLINK_ROUTE socket with short acks and a receive timeout (a kernel that never answers
// fails the call instead of hanging a pool thread). -errno on failure.
int NlOpen() {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return -errno;
  int one = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));  // acks without the request
  int rcv = 1 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
  timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_nl sa;
  memset(&sa, 0, sizeof(sa));
  sa.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  return fd;
}

int NlSend(int fd, const std::vector<uint8_t>& buf) {
  sockaddr_nl to;
  memset(&to, 0, sizeof(to));
  to.nl_family = AF_NETLINK;
  ssize_t n = sendto(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  if (n < 0) return -errno;
  return n == (ssize_t)buf.size() ? 0 : -EMSGSIZE;
}

// Append one message: header, fixed part, then attributes added with AddAttr.
size_t BeginMsg(std::vector<uint8_t>* b, uint16_t type, uint16_t flags, uint32_t seq, const void* fixed, size_t fixedLen) {
  size_t start = b->size();
  b->resize(start + NLMSG_SPACE(fixedLen));
  nlmsghdr* h = reinterpret_cast<nlmsghdr*>(b->data() + start);
  h->nlmsg_len = (uint32_t)NLMSG_LENGTH(fixedLen);
  h->nlmsg_type = type;
  h->nlmsg_flags = flags;
  h->nlmsg_seq = seq;
  memcpy(NLMSG_DATA(h), fixed, fixedLen);
  return start;
}

void AddAttr(std::vector<uint8_t>* b, size_t msg, uint16_t type, const void* data, size_t len) {
  size_t at = b->size();
  b->resize(at + RTA_SPACE(len));
  rtattr* a = reinterpret_cast<rtattr*>(b->data() + at);
  a->rta_type = type;
  a->rta_len = (uint16_t)RTA_LENGTH(len);
  memcpy(RTA_DATA(a), data, len);
  nlmsghdr* h = reinterpret_cast<nlmsghdr*>(b->data() + msg);
  h->nlmsg_len = (uint32_t)(b->size() - msg);
}

// Walk the attributes after a fixed part; cb(type, data, len).
template <class F>
void ForEachAttr(const nlmsghdr* h, size_t fixedLen, F cb) {
  if (h->nlmsg_len < NLMSG_LENGTH(fixedLen)) return;
  const rtattr* a = reinterpret_cast<const rtattr*>(reinterpret_cast<const uint8_t*>(NLMSG_DATA(h)) + NLMSG_ALIGN(fixedLen));
  int left = (int)h->nlmsg_len - (int)NLMSG_SPACE(fixedLen);
  for (; RTA_OK(a, left); a = RTA_NEXT(a, left)) cb(a->rta_type, RTA_DATA(a), (size_t)RTA_PAYLOAD(a));
}

struct NeighOp {
  std::string text;  // the address as given
  int family = 0;
  uint8_t addr[16] = {0};
  bool del = false;
  int err = 0;  // errno from the kernel's ack
};

struct NeighEntry {
  std::string address;
  int family = 0;
  uint16_t state = 0;
  bool managed = false;
};

bool ParseIp(const std::string& s, NeighOp* op) {
  if (inet_pton(AF_INET, s.c_str(), op->addr) == 1) {
    op->family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), op->addr) == 1) {
    op->family = AF_INET6;
    return true;
  }
  return false;
}

// One batch of RTM_NEWNEIGH (replace, managed) / RTM_DELNEIGH with an ack each, sent in chunks
// the receive buffer can hold. Per-address errors land in ops[i].err; returns -errno when the
// socket itself fails.
int RunNeighOps(int fd, int ifindex, bool managed, std::vector<NeighOp>* ops) {
  const size_t kChunk = 256;
  std::vector<uint8_t> buf;
  std::vector<uint8_t> rx(64 * 1024);
  for (size_t base = 0; base < ops->size(); base += kChunk) {
    size_t end = std::min(ops->size(), base + kChunk);
    buf.clear();
    for (size_t i = base; i < end; i++) {
      NeighOp& op = (*ops)[i];
      ndmsg nd;
      memset(&nd, 0, sizeof(nd));
      nd.ndm_family = (uint8_t)op.family;
      nd.ndm_ifindex = ifindex;
      nd.ndm_state = NUD_NONE;  // a managed entry is resolved by the kernel (never NUD_PERMANENT)
      uint16_t flags = NLM_F_REQUEST | NLM_F_ACK | (op.del ? 0 : NLM_F_CREATE | NLM_F_REPLACE);
      size_t m = BeginMsg(&buf, op.del ? RTM_DELNEIGH : RTM_NEWNEIGH, flags, (uint32_t)(i + 1), &nd, sizeof(nd));
      AddAttr(&buf, m, NDA_DST, op.addr, op.family == AF_INET ? 4 : 16);
      if (!op.del && managed) {
        uint32_t ext = NTF_EXT_MANAGED;
        AddAttr(&buf, m, NDA_FLAGS_EXT, &ext, sizeof(ext));
      }
    }
    int rc = NlSend(fd, buf);
    if (rc != 0) return rc;
    size_t acked = 0;
    while (acked < end - base) {
      ssize_t n = recv(fd, rx.data(), rx.size(), 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        return -errno;
      }
      int left = (int)n;
      for (const nlmsghdr* h = reinterpret_cast<const nlmsghdr*>(rx.data()); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
        if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_seq < base + 1 || h->nlmsg_seq > end) continue;
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) continue;
        const nlmsgerr* e = reinterpret_cast<const nlmsgerr*>(NLMSG_DATA(h));
        (*ops)[h->nlmsg_seq - 1].err = -e->error;
        acked++;
      }
    }
  }
  return 0;
}

// RTM_GETNEIGH dump of IPv4 and IPv6 entries on ifindex.
int DumpNeigh(int fd, int ifindex, std::vector<NeighEntry>* out) {
  std::vector<uint8_t> buf;
  ndmsg nd;
  memset(&nd, 0, sizeof(nd));
  nd.ndm_family = AF_UNSPEC;
  BeginMsg(&buf, RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP, 1, &nd, sizeof(nd));
  int rc = NlSend(fd, buf);
  if (rc != 0) return rc;
  std::vector<uint8_t> rx(64 * 1024);
  for (;;) {
    ssize_t n = recv(fd, rx.data(), rx.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    int left = (int)n;
    for (const nlmsghdr* h = reinterpret_cast<const nlmsghdr*>(rx.data()); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_seq != 1) continue;
      if (h->nlmsg_type == NLMSG_DONE) return 0;
      if (h->nlmsg_type == NLMSG_ERROR) {
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) return -EPROTO;
        return reinterpret_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;
      }
      if (h->nlmsg_type != RTM_NEWNEIGH || h->nlmsg_len < NLMSG_LENGTH(sizeof(ndmsg))) continue;
      const ndmsg* m = reinterpret_cast<const ndmsg*>(NLMSG_DATA(h));
      if (m->ndm_ifindex != ifindex || (m->ndm_family != AF_INET && m->ndm_family != AF_INET6)) continue;
      NeighEntry e;
      e.family = m->ndm_family;
      e.state = m->ndm_state;
      ForEachAttr(h, sizeof(ndmsg), [&](uint16_t type, const void* data, size_t len) {
        if (type == NDA_DST && len == (e.family == AF_INET ? 4u : 16u)) {
          char s[INET6_ADDRSTRLEN];
          if (inet_ntop(e.family, data, s, sizeof(s)) != nullptr) e.address = s;
        } else if (type == NDA_FLAGS_EXT && len >= 4) {
          uint32_t ext;
          memcpy(&ext, data, 4);
          e.managed = (ext & NTF_EXT_MANAGED) != 0;
        }
      });
      if (!e.address.empty()) out->push_back(e);
    }
  }
}

// RTM_GETLINK of one interface: IFLA_LINKINFO / IFLA_INFO_KIND ("" for a plain device).
int LinkKind(int fd, int ifindex, std::string* kind) {
  std::vector<uint8_t> buf;
  ifinfomsg ifi;
  memset(&ifi, 0, sizeof(ifi));
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = ifindex;
  BeginMsg(&buf, RTM_GETLINK, NLM_F_REQUEST, 1, &ifi, sizeof(ifi));
  int rc = NlSend(fd, buf);
  if (rc != 0) return rc;
  std::vector<uint8_t> rx(64 * 1024);
  for (;;) {
    ssize_t n = recv(fd, rx.data(), rx.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    int left = (int)n;
    for (const nlmsghdr* h = reinterpret_cast<const nlmsghdr*>(rx.data()); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_seq != 1) continue;
      if (h->nlmsg_type == NLMSG_ERROR) {
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) return -EPROTO;
        return reinterpret_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;
      }
      if (h->nlmsg_type != RTM_NEWLINK) continue;
      kind->clear();
      ForEachAttr(h, sizeof(ifinfomsg), [&](uint16_t type, const void* data, size_t len) {
        if ((type & NLA_TYPE_MASK) != IFLA_LINKINFO) return;
        const rtattr* a = static_cast<const rtattr*>(data);
        int l = (int)len;
        for (; RTA_OK(a, l); a = RTA_NEXT(a, l)) {
          if ((a->rta_type & NLA_TYPE_MASK) == IFLA_INFO_KIND) {
            const char* s = static_cast<const char*>(RTA_DATA(a));
            *kind = std::string(s, strnlen(s, RTA_PAYLOAD(a)));
          }
        }
      });
      return 0;
    }
  }
}

class NeighWorker : public Napi::AsyncWorker {
 public:
  NeighWorker(Napi::Env env, int fd, int ifindex, bool dump, bool managed, std::vector<NeighOp> ops)
      : Napi::AsyncWorker(env, "edgelb:netlink"),
        fd_(fd),
        ifindex_(ifindex),
        dump_(dump),
        managed_(managed),
        ops_(std::move(ops)),
        deferred_(Napi::Promise::Deferred::New(env)) {}
  ~NeighWorker() override {
    if (fd_ >= 0) close(fd_);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    rc_ = dump_ ? DumpNeigh(fd_, ifindex_, &entries_) : RunNeighOps(fd_, ifindex_, managed_, &ops_);
    close(fd_);
    fd_ = -1;
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (rc_ != 0) {
      ThrowErrno(env, dump_ ? "netlink RTM_GETNEIGH" : "netlink RTM_NEWNEIGH/RTM_DELNEIGH", -rc_);
      deferred_.Reject(env.GetAndClearPendingException().Value());
      return;
    }
    if (dump_) {
      Napi::Array out = Napi::Array::New(env, entries_.size());
      for (size_t i = 0; i < entries_.size(); i++) {
        Napi::Object o = Napi::Object::New(env);
        o.Set("address", entries_[i].address);
        o.Set("family", entries_[i].family == AF_INET ? 4 : 6);
        o.Set("state", entries_[i].state);
        o.Set("managed", entries_[i].managed);
        out.Set((uint32_t)i, o);
      }
      deferred_.Resolve(out);
      return;
    }
    Napi::Object res = Napi::Object::New(env);
    Napi::Array errors = Napi::Array::New(env);
    uint32_t applied = 0, ne = 0;
    for (const auto& op : ops_) {
      if (op.err == 0) {
        applied++;
        continue;
      }
      Napi::Object e = Napi::Object::New(env);
      e.Set("address", op.text);
      e.Set("op", op.del ? "delete" : "replace");
      e.Set("errno", op.err);
      e.Set("code", ErrnoName(op.err));
      errors.Set(ne++, e);
    }
    res.Set("applied", applied);
    res.Set("errors", errors);
    deferred_.Resolve(res);
  }

 private:
  int fd_;
  int ifindex_;
  bool dump_;
  bool managed_;
  std::vector<NeighOp> ops_;
  std::vector<NeighEntry> entries_;
  int rc_ = 0;
  Napi::Promise::Deferred deferred_;
};

bool AddressList(const Napi::CallbackInfo& info, size_t i, const char* what, bool del, std::vector<NeighOp>* ops) {
  if (info.Length() <= i || !info[i].IsArray()) {
    ThrowType(info.Env(), std::string("argument ") + std::to_string(i) + " (" + what + ") must be an array of IP addresses");
    return false;
  }
  Napi::Array a = info[i].As<Napi::Array>();
  for (uint32_t k = 0; k < a.Length(); k++) {
    Napi::Value v = a.Get(k);
    NeighOp op;
    op.del = del;
    if (v.IsString()) op.text = v.As<Napi::String>().Utf8Value();
    if (!v.IsString() || !ParseIp(op.text, &op)) {
      ThrowType(info.Env(), std::string(what) + "[" + std::to_string(k) + "] is not an IPv4 or IPv6 address");
      return false;
    }
    ops->push_back(op);
  }
  return true;
}

// neighUpdate(ifindex, replace: string[], remove: string[], { managed? = true })
//   -> Promise<{ applied, errors: [{ address, op, errno, code }] }>
// Deletions go first (an address in both lists ends up present).
Napi::Value NeighUpdate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "ifindex", 1, 0x7fffffff, ifindex, env.Undefined());
  std::vector<NeighOp> ops;
  if (!AddressList(info, 2, "remove", true, &ops) || !AddressList(info, 1, "replace", false, &ops)) return env.Undefined();
  bool managed = true, has = false;
  if (info.Length() > 3 && info[3].IsObject() && !OptBool(info[3].As<Napi::Object>(), "managed", &managed, &has)) return env.Undefined();
  int fd = NlOpen();
  if (fd < 0) {
    ThrowErrno(env, "socket(NETLINK_ROUTE)", -fd);
    return env.Undefined();
  }
  auto* w = new NeighWorker(env, fd, (int)ifindex, false, managed, std::move(ops));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// neighList(ifindex) -> Promise<[{ address, family, state (NUD_*), managed }]>
Napi::Value NeighList(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "ifindex", 1, 0x7fffffff, ifindex, env.Undefined());
  int fd = NlOpen();
  if (fd < 0) {
    ThrowErrno(env, "socket(NETLINK_ROUTE)", -fd);
    return env.Undefined();
  }
  auto* w = new NeighWorker(env, fd, (int)ifindex, true, false, {});
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// linkKind(ifindex) -> "veth", "bridge", ... or "" (one request/answer: synchronous, like xdpQuery)
Napi::Value LinkKindFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "ifindex", 1, 0x7fffffff, ifindex, env.Undefined());
  int fd = NlOpen();
  if (fd < 0) {
    ThrowErrno(env, "socket(NETLINK_ROUTE)", -fd);
    return env.Undefined();
  }
  std::string kind;
  int rc = LinkKind(fd, (int)ifindex, &kind);
  close(fd);
  if (rc != 0) {
    ThrowErrno(env, "netlink RTM_GETLINK", -rc);
    return env.Undefined();
  }
  return Napi::String::New(env, kind);
}

}  // namespace

static void InitNetlink(Napi::Env env, Napi::Object exports) {
  exports.Set("neighUpdate", Napi::Function::New(env, NeighUpdate, "neighUpdate"));
  exports.Set("neighList", Napi::Function::New(env, NeighList, "neighList"));
  exports.Set("linkKind", Napi::Function::New(env, LinkKindFn, "linkKind"));
}

EDGELB_REGISTER(netlink, InitNetlink);

// The helpers above, for the other netlink files (declared in netlink.h).
int NetlinkOpen() { return NlOpen(); }
int NetlinkSend(int fd, const std::vector<uint8_t>& buf) { return NlSend(fd, buf); }
size_t NetlinkBegin(std::vector<uint8_t>* b, uint16_t type, uint16_t flags, uint32_t seq, const void* fixed, size_t fixedLen) { return BeginMsg(b, type, flags, seq, fixed, fixedLen); }
void NetlinkAttr(std::vector<uint8_t>* b, size_t msg, uint16_t type, const void* data, size_t len) { AddAttr(b, msg, type, data, len); }

}  // namespace edgelb
