// Neighbour and link facts over a raw NETLINK_ROUTE socket (no iproute2 child process): the
// managed neighbour entries (NTF_EXT_MANAGED, Linux 5.16+) that keep on-segment backends resolved
// for bpf_fib_lookup, their dump, and an interface's kind (veth?). Batches and dumps run on the
// libuv thread pool and resolve a Promise; the socket is opened on the calling thread, so it
// belongs to that thread's network namespace (xdpSetNetns in tests). The NETLINK_ROUTE helpers
// declared in netlink.h (socket, acked batch, request/dump loop, batch result) live here too.
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

// A NETLINK_ROUTE socket with short acks and a receive timeout (a kernel that never answers
// fails the call instead of hanging a pool thread). -errno on failure.
int NetlinkOpen() {
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

int NetlinkOpenOrThrow(Napi::Env env) {
  int fd = NetlinkOpen();
  if (fd >= 0) return fd;
  ThrowErrno(env, "socket(NETLINK_ROUTE)", -fd);
  return -1;
}

int NetlinkSend(int fd, const std::vector<uint8_t>& buf) {
  sockaddr_nl to;
  memset(&to, 0, sizeof(to));
  to.nl_family = AF_NETLINK;
  ssize_t n = sendto(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  if (n < 0) return -errno;
  return n == (ssize_t)buf.size() ? 0 : -EMSGSIZE;
}

// Append one message: header, fixed part, then attributes added with NetlinkAttr.
size_t NetlinkBegin(std::vector<uint8_t>* b, uint16_t type, uint16_t flags, uint32_t seq, const void* fixed, size_t fixedLen) {
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

void NetlinkAttr(std::vector<uint8_t>* b, size_t msg, uint16_t type, const void* data, size_t len) {
  size_t at = b->size();
  b->resize(at + RTA_SPACE(len));
  rtattr* a = reinterpret_cast<rtattr*>(b->data() + at);
  a->rta_type = type;
  a->rta_len = (uint16_t)RTA_LENGTH(len);
  memcpy(RTA_DATA(a), data, len);
  nlmsghdr* h = reinterpret_cast<nlmsghdr*>(b->data() + msg);
  h->nlmsg_len = (uint32_t)(b->size() - msg);
}

// One datagram from the kernel into rx (EINTR retried): its length, or -errno.
static int RecvOnce(int fd, std::vector<uint8_t>* rx) {
  for (;;) {
    ssize_t n = recv(fd, rx->data(), rx->size(), 0);
    if (n >= 0) return (int)n;
    if (errno != EINTR) return -errno;
  }
}

int NetlinkRunAcked(int fd, std::vector<NetlinkOp>* ops, const std::function<void(size_t i, std::vector<uint8_t>* buf)>& build) {
  const size_t kChunk = 256;
  std::vector<uint8_t> buf;
  std::vector<uint8_t> rx(64 * 1024);
  for (size_t base = 0; base < ops->size(); base += kChunk) {
    size_t end = std::min(ops->size(), base + kChunk);
    buf.clear();
    for (size_t i = base; i < end; i++) build(i, &buf);
    int rc = NetlinkSend(fd, buf);
    if (rc != 0) return rc;
    size_t acked = 0;
    while (acked < end - base) {
      int left = RecvOnce(fd, &rx);
      if (left < 0) return left;
      for (const nlmsghdr* h = reinterpret_cast<const nlmsghdr*>(rx.data()); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
        if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_seq < base + 1 || h->nlmsg_seq > end) continue;
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) continue;
        (*ops)[h->nlmsg_seq - 1].err = -reinterpret_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;
        acked++;
      }
    }
  }
  return 0;
}

int NetlinkRequest(int fd, const std::vector<uint8_t>& req, uint32_t seq, const std::function<bool(const nlmsghdr* h)>& onMessage) {
  int rc = NetlinkSend(fd, req);
  if (rc != 0) return rc;
  std::vector<uint8_t> rx(64 * 1024);
  for (;;) {
    int left = RecvOnce(fd, &rx);
    if (left < 0) return left;
    for (const nlmsghdr* h = reinterpret_cast<const nlmsghdr*>(rx.data()); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_seq != seq) continue;
      if (h->nlmsg_type == NLMSG_DONE) return 0;
      if (h->nlmsg_type == NLMSG_ERROR) {
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) return -EPROTO;
        return reinterpret_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;
      }
      if (onMessage(h)) return 0;
    }
  }
}

bool NetlinkAddressList(const Napi::CallbackInfo& info, size_t i, const char* what, bool del, std::vector<NetlinkOp>* ops) {
  if (info.Length() <= i || !info[i].IsArray()) {
    ThrowType(info.Env(), std::string("argument ") + std::to_string(i) + " (" + what + ") must be an array of IP addresses");
    return false;
  }
  Napi::Array a = info[i].As<Napi::Array>();
  for (uint32_t k = 0; k < a.Length(); k++) {
    Napi::Value v = a.Get(k);
    NetlinkOp op;
    op.del = del;
    if (v.IsString()) op.text = v.As<Napi::String>().Utf8Value();
    if (v.IsString() && inet_pton(AF_INET, op.text.c_str(), op.addr) == 1) op.family = AF_INET;
    else if (v.IsString() && inet_pton(AF_INET6, op.text.c_str(), op.addr) == 1) op.family = AF_INET6;
    else {
      ThrowType(info.Env(), std::string(what) + "[" + std::to_string(k) + "] is not an IPv4 or IPv6 address");
      return false;
    }
    ops->push_back(op);
  }
  return true;
}

Napi::Object NetlinkBatchResult(Napi::Env env, const std::vector<NetlinkOp>& ops, const char* addVerb) {
  Napi::Object res = Napi::Object::New(env);
  Napi::Array errors = Napi::Array::New(env);
  uint32_t applied = 0, ne = 0;
  for (const auto& op : ops) {
    if (op.err == 0) {
      applied++;
      continue;
    }
    Napi::Object e = Napi::Object::New(env);
    e.Set("address", op.text);
    e.Set("op", op.del ? "delete" : addVerb);
    e.Set("errno", op.err);
    e.Set("code", ErrnoName(op.err));
    errors.Set(ne++, e);
  }
  res.Set("applied", applied);
  res.Set("errors", errors);
  return res;
}

namespace {

struct NeighEntry {
  std::string address;
  int family = 0;
  uint16_t state = 0;
  bool managed = false;
};

// One batch of RTM_NEWNEIGH (replace, managed) / RTM_DELNEIGH with an ack each. Per-address
// errors land in ops[i].err; returns -errno when the socket itself fails.
int RunNeighOps(int fd, int ifindex, bool managed, std::vector<NetlinkOp>* ops) {
  return NetlinkRunAcked(fd, ops, [&](size_t i, std::vector<uint8_t>* buf) {
    const NetlinkOp& op = (*ops)[i];
    ndmsg nd;
    memset(&nd, 0, sizeof(nd));
    nd.ndm_family = (uint8_t)op.family;
    nd.ndm_ifindex = ifindex;
    nd.ndm_state = NUD_NONE;  // a managed entry is resolved by the kernel (never NUD_PERMANENT)
    uint16_t flags = NLM_F_REQUEST | NLM_F_ACK | (op.del ? 0 : NLM_F_CREATE | NLM_F_REPLACE);
    size_t m = NetlinkBegin(buf, op.del ? RTM_DELNEIGH : RTM_NEWNEIGH, flags, (uint32_t)(i + 1), &nd, sizeof(nd));
    NetlinkAttr(buf, m, NDA_DST, op.addr, op.family == AF_INET ? 4 : 16);
    if (!op.del && managed) {
      uint32_t ext = NTF_EXT_MANAGED;
      NetlinkAttr(buf, m, NDA_FLAGS_EXT, &ext, sizeof(ext));
    }
  });
}

// RTM_GETNEIGH dump of IPv4 and IPv6 entries on ifindex.
int DumpNeigh(int fd, int ifindex, std::vector<NeighEntry>* out) {
  std::vector<uint8_t> buf;
  ndmsg nd;
  memset(&nd, 0, sizeof(nd));
  nd.ndm_family = AF_UNSPEC;
  NetlinkBegin(&buf, RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP, 1, &nd, sizeof(nd));
  return NetlinkRequest(fd, buf, 1, [&](const nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWNEIGH || h->nlmsg_len < NLMSG_LENGTH(sizeof(ndmsg))) return false;
    const ndmsg* m = reinterpret_cast<const ndmsg*>(NLMSG_DATA(h));
    if (m->ndm_ifindex != ifindex || (m->ndm_family != AF_INET && m->ndm_family != AF_INET6)) return false;
    NeighEntry e;
    e.family = m->ndm_family;
    e.state = m->ndm_state;
    NetlinkForEachAttr(h, sizeof(ndmsg), [&](uint16_t type, const void* data, size_t len) {
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
    return false;
  });
}

// RTM_GETLINK of one interface: IFLA_LINKINFO / IFLA_INFO_KIND ("" for a plain device).
int LinkKind(int fd, int ifindex, std::string* kind) {
  std::vector<uint8_t> buf;
  ifinfomsg ifi;
  memset(&ifi, 0, sizeof(ifi));
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = ifindex;
  NetlinkBegin(&buf, RTM_GETLINK, NLM_F_REQUEST, 1, &ifi, sizeof(ifi));
  return NetlinkRequest(fd, buf, 1, [&](const nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWLINK) return false;
    kind->clear();
    NetlinkForEachAttr(h, sizeof(ifinfomsg), [&](uint16_t type, const void* data, size_t len) {
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
    return true;
  });
}

class NeighWorker : public Napi::AsyncWorker {
 public:
  NeighWorker(Napi::Env env, int fd, int ifindex, bool dump, bool managed, std::vector<NetlinkOp> ops)
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
    deferred_.Resolve(NetlinkBatchResult(env, ops_, "replace"));
  }

 private:
  int fd_;
  int ifindex_;
  bool dump_;
  bool managed_;
  std::vector<NetlinkOp> ops_;
  std::vector<NeighEntry> entries_;
  int rc_ = 0;
  Napi::Promise::Deferred deferred_;
};

// The socket opened here (in this thread's network namespace), the work on the thread pool.
Napi::Value QueueNeigh(Napi::Env env, int ifindex, bool dump, bool managed, std::vector<NetlinkOp> ops) {
  int fd = NetlinkOpenOrThrow(env);
  if (fd < 0) return env.Undefined();
  auto* w = new NeighWorker(env, fd, ifindex, dump, managed, std::move(ops));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// neighUpdate(ifindex, replace: string[], remove: string[], { managed? = true })
//   -> Promise<{ applied, errors: [{ address, op, errno, code }] }>
// Deletions go first (an address in both lists ends up present).
Napi::Value NeighUpdate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "ifindex", 1, 0x7fffffff, ifindex, env.Undefined());
  std::vector<NetlinkOp> ops;
  if (!NetlinkAddressList(info, 2, "remove", true, &ops) || !NetlinkAddressList(info, 1, "replace", false, &ops)) return env.Undefined();
  bool managed = true, has = false;
  if (info.Length() > 3 && info[3].IsObject() && !OptBool(info[3].As<Napi::Object>(), "managed", &managed, &has)) return env.Undefined();
  return QueueNeigh(env, (int)ifindex, false, managed, std::move(ops));
}

// neighList(ifindex) -> Promise<[{ address, family, state (NUD_*), managed }]>
Napi::Value NeighList(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "ifindex", 1, 0x7fffffff, ifindex, env.Undefined());
  return QueueNeigh(env, (int)ifindex, true, false, {});
}

// linkKind(ifindex) -> "veth", "bridge", ... or "" (one request/answer: synchronous, like xdpQuery)
Napi::Value LinkKindFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "ifindex", 1, 0x7fffffff, ifindex, env.Undefined());
  int fd = NetlinkOpenOrThrow(env);
  if (fd < 0) return env.Undefined();
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

}  // namespace edgelb
