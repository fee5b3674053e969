// Per-VIP blackhole routes and the rule that scopes them to the uplink, over NETLINK_ROUTE (the
// helpers of netlink.cc). Each announced VIP gets "blackhole VIP/32 (or /128) proto P table T", and
// the uplink one rule per family "iif UPLINK lookup T pref N proto P": a packet that reaches the
// kernel from the uplink addressed to a VIP (whatever XDP passed) is dropped instead of being
// routed back out, while the node's own traffic to a VIP (iif lo) finds no route in T and falls
// through to the main table as before. Batches and dumps run on the libuv thread pool.
#include <arpa/inet.h>
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "netlink.h"
#include "registry.h"
#include "util.h"

namespace edgelb {

namespace {

struct RouteSel {
  uint32_t table = 0;
  uint8_t protocol = 0;
};

struct RouteOp {
  std::string text;  // the address as given ("inet"/"inet6" for a rule)
  int family = 0;
  uint8_t addr[16] = {0};
  bool del = false;
  int err = 0;  // errno from the kernel's ack
};

// Send count messages, each appended by build(i, &buf) with seq i+1, in chunks the receive buffer
// holds; ops[i].err = the errno of each ack. -errno when the socket itself fails.
template <class B>
int RunAcked(int fd, std::vector<RouteOp>* ops, B build) {
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
      ssize_t n = recv(fd, rx.data(), rx.size(), 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        return -errno;
      }
      int left = (int)n;
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

// RTM_NEWROUTE (create, never replace: a route someone else put there stays theirs) or
// RTM_DELROUTE (only a blackhole of our protocol matches).
void BuildRoute(const RouteSel& sel, const RouteOp& op, uint32_t seq, std::vector<uint8_t>* buf) {
  rtmsg r;
  memset(&r, 0, sizeof(r));
  r.rtm_family = (uint8_t)op.family;
  r.rtm_dst_len = op.family == AF_INET ? 32 : 128;
  r.rtm_table = sel.table < 256 ? (uint8_t)sel.table : (uint8_t)RT_TABLE_UNSPEC;
  r.rtm_protocol = sel.protocol;
  r.rtm_scope = op.del ? RT_SCOPE_NOWHERE : RT_SCOPE_UNIVERSE;
  r.rtm_type = RTN_BLACKHOLE;
  uint16_t flags = NLM_F_REQUEST | NLM_F_ACK | (op.del ? 0 : NLM_F_CREATE | NLM_F_EXCL);
  size_t m = NetlinkBegin(buf, op.del ? RTM_DELROUTE : RTM_NEWROUTE, flags, seq, &r, sizeof(r));
  NetlinkAttr(buf, m, RTA_DST, op.addr, op.family == AF_INET ? 4 : 16);
  NetlinkAttr(buf, m, RTA_TABLE, &sel.table, sizeof(sel.table));
}

// RTM_NEWRULE (create, exclusive) or RTM_DELRULE: "iif IIF lookup TABLE pref PRIO proto P".
void BuildRule(const RouteSel& sel, const std::string& iif, uint32_t prio, const RouteOp& op, uint32_t seq, std::vector<uint8_t>* buf) {
  fib_rule_hdr f;
  memset(&f, 0, sizeof(f));
  f.family = (uint8_t)op.family;
  f.table = sel.table < 256 ? (uint8_t)sel.table : (uint8_t)RT_TABLE_UNSPEC;
  f.action = FR_ACT_TO_TBL;
  uint16_t flags = NLM_F_REQUEST | NLM_F_ACK | (op.del ? 0 : NLM_F_CREATE | NLM_F_EXCL);
  size_t m = NetlinkBegin(buf, op.del ? RTM_DELRULE : RTM_NEWRULE, flags, seq, &f, sizeof(f));
  NetlinkAttr(buf, m, FRA_IIFNAME, iif.c_str(), iif.size() + 1);
  NetlinkAttr(buf, m, FRA_TABLE, &sel.table, sizeof(sel.table));
  NetlinkAttr(buf, m, FRA_PRIORITY, &prio, sizeof(prio));
  NetlinkAttr(buf, m, FRA_PROTOCOL, &sel.protocol, sizeof(sel.protocol));
}

// RTM_GETROUTE dump of both families: the destinations of the host blackholes of sel.
int DumpRoutes(int fd, const RouteSel& sel, std::vector<std::string>* out) {
  std::vector<uint8_t> buf;
  rtmsg r;
  memset(&r, 0, sizeof(r));
  r.rtm_family = AF_UNSPEC;
  NetlinkBegin(&buf, RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, 1, &r, sizeof(r));
  int rc = NetlinkSend(fd, buf);
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
      if (h->nlmsg_type != RTM_NEWROUTE || h->nlmsg_len < NLMSG_LENGTH(sizeof(rtmsg))) continue;
      const rtmsg* m = reinterpret_cast<const rtmsg*>(NLMSG_DATA(h));
      if (m->rtm_type != RTN_BLACKHOLE || m->rtm_protocol != sel.protocol) continue;
      size_t alen = m->rtm_family == AF_INET ? 4 : 16;
      if ((m->rtm_family != AF_INET && m->rtm_family != AF_INET6) || m->rtm_dst_len != alen * 8) continue;
      uint32_t table = m->rtm_table;
      std::string dst;
      const rtattr* a = reinterpret_cast<const rtattr*>(reinterpret_cast<const uint8_t*>(m) + NLMSG_ALIGN(sizeof(rtmsg)));
      int alLeft = (int)h->nlmsg_len - (int)NLMSG_SPACE(sizeof(rtmsg));
      for (; RTA_OK(a, alLeft); a = RTA_NEXT(a, alLeft)) {
        if (a->rta_type == RTA_TABLE && RTA_PAYLOAD(a) >= 4) memcpy(&table, RTA_DATA(a), 4);
        if (a->rta_type == RTA_DST && RTA_PAYLOAD(a) == alen) {
          char s[INET6_ADDRSTRLEN];
          if (inet_ntop(m->rtm_family, RTA_DATA(a), s, sizeof(s)) != nullptr) dst = s;
        }
      }
      if (table == sel.table && !dst.empty()) out->push_back(dst);
    }
  }
}

class RouteWorker : public Napi::AsyncWorker {
 public:
  enum Kind { kUpdate, kList, kRule };
  RouteWorker(Napi::Env env, int fd, Kind kind, RouteSel sel, std::vector<RouteOp> ops, std::string iif, uint32_t prio)
      : Napi::AsyncWorker(env, "edgelb:netlink-route"),
        fd_(fd),
        kind_(kind),
        sel_(sel),
        ops_(std::move(ops)),
        iif_(std::move(iif)),
        prio_(prio),
        deferred_(Napi::Promise::Deferred::New(env)) {}
  ~RouteWorker() override {
    if (fd_ >= 0) close(fd_);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    if (kind_ == kList) {
      rc_ = DumpRoutes(fd_, sel_, &list_);
    } else {
      rc_ = RunAcked(fd_, &ops_, [&](size_t i, std::vector<uint8_t>* buf) {
        if (kind_ == kRule) BuildRule(sel_, iif_, prio_, ops_[i], (uint32_t)(i + 1), buf);
        else BuildRoute(sel_, ops_[i], (uint32_t)(i + 1), buf);
      });
    }
    close(fd_);
    fd_ = -1;
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (rc_ != 0) {
      ThrowErrno(env, kind_ == kList ? "netlink RTM_GETROUTE" : kind_ == kRule ? "netlink RTM_NEWRULE/RTM_DELRULE" : "netlink RTM_NEWROUTE/RTM_DELROUTE", -rc_);
      deferred_.Reject(env.GetAndClearPendingException().Value());
      return;
    }
    if (kind_ == kList) {
      Napi::Array out = Napi::Array::New(env, list_.size());
      for (size_t i = 0; i < list_.size(); i++) out.Set((uint32_t)i, list_[i]);
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
      e.Set("op", op.del ? "delete" : "add");
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
  Kind kind_;
  RouteSel sel_;
  std::vector<RouteOp> ops_;
  std::string iif_;
  uint32_t prio_;
  std::vector<std::string> list_;
  int rc_ = 0;
  Napi::Promise::Deferred deferred_;
};

// argument 0: { table: 1..0xffffffff but not 253..255 (default, main, local), protocol: 5..255 }
bool RouteSelArg(const Napi::CallbackInfo& info, RouteSel* sel) {
  if (info.Length() < 1 || !info[0].IsObject()) {
    ThrowType(info.Env(), "argument 0 (route selector) must be an object { table, protocol }");
    return false;
  }
  Napi::Object o = info[0].As<Napi::Object>();
  int64_t table = 0, proto = 0;
  bool hasT = false, hasP = false;
  if (!OptInt(o, "table", 1, 0xffffffffLL, &table, &hasT) || !OptInt(o, "protocol", RTPROT_STATIC + 1, 255, &proto, &hasP)) return false;
  if (!hasT || !hasP) {
    ThrowType(info.Env(), "route selector needs table and protocol");
    return false;
  }
  if (table >= RT_TABLE_DEFAULT && table <= RT_TABLE_LOCAL) {
    ThrowRange(info.Env(), "table must not be default (253), main (254) or local (255)");
    return false;
  }
  sel->table = (uint32_t)table;
  sel->protocol = (uint8_t)proto;
  return true;
}

bool AddressArg(const Napi::CallbackInfo& info, size_t i, const char* what, bool del, std::vector<RouteOp>* ops) {
  if (info.Length() <= i || !info[i].IsArray()) {
    ThrowType(info.Env(), std::string("argument ") + std::to_string(i) + " (" + what + ") must be an array of IP addresses");
    return false;
  }
  Napi::Array a = info[i].As<Napi::Array>();
  for (uint32_t k = 0; k < a.Length(); k++) {
    Napi::Value v = a.Get(k);
    RouteOp op;
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

Napi::Value Queue(Napi::Env env, RouteWorker::Kind kind, const RouteSel& sel, std::vector<RouteOp> ops, std::string iif = "", uint32_t prio = 0) {
  int fd = NetlinkOpen();
  if (fd < 0) {
    ThrowErrno(env, "socket(NETLINK_ROUTE)", -fd);
    return env.Undefined();
  }
  auto* w = new RouteWorker(env, fd, kind, sel, std::move(ops), std::move(iif), prio);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// routeUpdate({ table, protocol }, add: string[], remove: string[])
//   -> Promise<{ applied, errors: [{ address, op: 'add'|'delete', errno, code }] }>
// Host blackhole routes (/32, /128); deletions go first. EEXIST on add: a route is already there.
Napi::Value RouteUpdate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RouteSel sel;
  if (!RouteSelArg(info, &sel)) return env.Undefined();
  std::vector<RouteOp> ops;
  if (!AddressArg(info, 2, "remove", true, &ops) || !AddressArg(info, 1, "add", false, &ops)) return env.Undefined();
  return Queue(env, RouteWorker::kUpdate, sel, std::move(ops));
}

// routeList({ table, protocol }) -> Promise<string[]>: the host blackholes of that table and protocol
Napi::Value RouteList(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RouteSel sel;
  if (!RouteSelArg(info, &sel)) return env.Undefined();
  return Queue(env, RouteWorker::kList, sel, {});
}

// ruleUpdate({ table, protocol }, { iif, priority }, present: boolean) -> Promise<{ applied, errors }>
// The IPv4 and IPv6 rules "iif IIF lookup TABLE pref PRIORITY proto P" added (EEXIST: already
// there) or removed (ENOENT: already gone); errors name the family ("inet", "inet6").
Napi::Value RuleUpdate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RouteSel sel;
  if (!RouteSelArg(info, &sel)) return env.Undefined();
  EDGELB_ARG_OBJECT(info, 1, "rule", env.Undefined());
  Napi::Object o = info[1].As<Napi::Object>();
  std::string iif;
  int64_t prio = 0;
  bool hasI = false, hasP = false;
  if (!OptString(o, "iif", &iif, &hasI) || !OptInt(o, "priority", 1, 32765, &prio, &hasP)) return env.Undefined();
  if (!hasI || !hasP || iif.empty() || iif.size() >= 16 || iif.find('\0') != std::string::npos) {
    ThrowType(env, "rule needs iif (an interface name of 1..15 bytes) and priority (1..32765)");
    return env.Undefined();
  }
  EDGELB_ARG_CHECK(info, 2, Boolean, "present", env.Undefined());
  bool del = !info[2].As<Napi::Boolean>().Value();
  std::vector<RouteOp> ops(2);
  ops[0].family = AF_INET;
  ops[0].text = "inet";
  ops[1].family = AF_INET6;
  ops[1].text = "inet6";
  for (auto& op : ops) op.del = del;
  return Queue(env, RouteWorker::kRule, sel, std::move(ops), iif, (uint32_t)prio);
}

}  // namespace

static void InitNetlinkRoute(Napi::Env env, Napi::Object exports) {
  exports.Set("routeUpdate", Napi::Function::New(env, RouteUpdate, "routeUpdate"));
  exports.Set("routeList", Napi::Function::New(env, RouteList, "routeList"));
  exports.Set("ruleUpdate", Napi::Function::New(env, RuleUpdate, "ruleUpdate"));
}

EDGELB_REGISTER(netlink_route, InitNetlinkRoute);

}  // namespace edgelb
