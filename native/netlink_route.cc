// Per-VIP blackhole routes and the rule that scopes them to the uplink, over NETLINK_ROUTE (the
// helpers of netlink.cc). Each announced VIP gets "blackhole VIP/32 (or /128) proto P table T", and
// the uplink one rule per family "iif UPLINK lookup T pref N proto P": a packet that reaches the
// kernel from the uplink addressed to a VIP (whatever XDP passed) is dropped instead of being
// routed back out, while the node's own traffic to a VIP (iif lo) finds no route in T and falls
// through to the main table as before. Batches and dumps run on the libuv thread pool.
#include <arpa/inet.h>
#include <linux/fib_rules.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

// RTM_NEWROUTE (create, never replace: a route someone else put there stays theirs) or
// RTM_DELROUTE (only a blackhole of our protocol matches).
void BuildRoute(const RouteSel& sel, const NetlinkOp& op, uint32_t seq, std::vector<uint8_t>* buf) {
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
void BuildRule(const RouteSel& sel, const std::string& iif, uint32_t prio, const NetlinkOp& op, uint32_t seq, std::vector<uint8_t>* buf) {
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
  return NetlinkRequest(fd, buf, 1, [&](const nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWROUTE || h->nlmsg_len < NLMSG_LENGTH(sizeof(rtmsg))) return false;
    const rtmsg* m = reinterpret_cast<const rtmsg*>(NLMSG_DATA(h));
    if (m->rtm_type != RTN_BLACKHOLE || m->rtm_protocol != sel.protocol) return false;
    size_t alen = m->rtm_family == AF_INET ? 4 : 16;
    if ((m->rtm_family != AF_INET && m->rtm_family != AF_INET6) || m->rtm_dst_len != alen * 8) return false;
    uint32_t table = m->rtm_table;
    std::string dst;
    NetlinkForEachAttr(h, sizeof(rtmsg), [&](uint16_t type, const void* data, size_t len) {
      if (type == RTA_TABLE && len >= 4) memcpy(&table, data, 4);
      if (type == RTA_DST && len == alen) {
        char s[INET6_ADDRSTRLEN];
        if (inet_ntop(m->rtm_family, data, s, sizeof(s)) != nullptr) dst = s;
      }
    });
    if (table == sel.table && !dst.empty()) out->push_back(dst);
    return false;
  });
}

class RouteWorker : public Napi::AsyncWorker {
 public:
  enum Kind { kUpdate, kList, kRule };
  RouteWorker(Napi::Env env, int fd, Kind kind, RouteSel sel, std::vector<NetlinkOp> ops, std::string iif, uint32_t prio)
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
      rc_ = NetlinkRunAcked(fd_, &ops_, [&](size_t i, std::vector<uint8_t>* buf) {
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
    deferred_.Resolve(NetlinkBatchResult(env, ops_, "add"));
  }

 private:
  int fd_;
  Kind kind_;
  RouteSel sel_;
  std::vector<NetlinkOp> ops_;
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

Napi::Value Queue(Napi::Env env, RouteWorker::Kind kind, const RouteSel& sel, std::vector<NetlinkOp> ops, std::string iif = "", uint32_t prio = 0) {
  int fd = NetlinkOpenOrThrow(env);
  if (fd < 0) return env.Undefined();
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
  std::vector<NetlinkOp> ops;
  if (!NetlinkAddressList(info, 2, "remove", true, &ops) || !NetlinkAddressList(info, 1, "add", false, &ops)) return env.Undefined();
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
  std::vector<NetlinkOp> ops(2);
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
