// NetlinkWatch: neighbour, link and route events of the kernel (NETLINK_ROUTE multicast groups
// RTNLGRP_NEIGH, RTNLGRP_LINK, RTNLGRP_IPV4_ROUTE + RTNLGRP_IPV6_ROUTE; new NetlinkWatch(groups?),
// groups a subset of ['neigh', 'link', 'route'], default neigh and link) on the Node event loop,
// for the data path's next-hop map (src/dataplane/xdp-nexthop.ts) and the uplink's gateways
// (src/dataplane/gateways.ts). Dumps (dumpNeighbours, dumpLinks, dumpRoutes) are requested on the
// same socket, so their answers arrive in order with the events and a dump never overwrites a
// newer event. Each datagram reaches the callback as an array of events:
//   { kind: 'neigh', op: 'new' | 'del', ifindex, family: 4 | 6, address, state (NUD_*), mac? }
//   { kind: 'link', op: 'new' | 'del', ifindex, up (IFF_UP and carrier), mac? }
//   { kind: 'route', op: 'new' | 'del', replace, family: 4 | 6, table, type (RTN_*), dst, dstLen,
//     priority, tos, nexthops: [{ ifindex, gateway? }] }   (IPv4 and IPv6 routes only)
//   { kind: 'done' } (a dump ended)   { kind: 'overflow' } (events were lost: dump again)
// The socket belongs to the network namespace of the thread that opens it (xdpSetNetns in tests).
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "fd_reader.h"
#include "registry.h"
#include "util.h"

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000  // linux/if.h (which clashes with net/if.h): the carrier is up
#endif

namespace edgelb {

namespace {

std::string Mac(const void* p, size_t len) {
  if (len != 6) return "";
  const uint8_t* m = static_cast<const uint8_t*>(p);
  char buf[18];
  snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return buf;
}

// Attributes after a fixed part; cb(type, data, len) for each well-formed one.
template <class F>
void EachAttr(const nlmsghdr* h, size_t fixedLen, F cb) {
  if (h->nlmsg_len < NLMSG_LENGTH(fixedLen)) return;
  const rtattr* a = reinterpret_cast<const rtattr*>(reinterpret_cast<const uint8_t*>(NLMSG_DATA(h)) + NLMSG_ALIGN(fixedLen));
  int left = (int)h->nlmsg_len - (int)NLMSG_SPACE(fixedLen);
  for (; RTA_OK(a, left); a = RTA_NEXT(a, left)) cb(a->rta_type & NLA_TYPE_MASK, RTA_DATA(a), (size_t)RTA_PAYLOAD(a));
}

}  // namespace

class NetlinkWatch : public FdReaderWrap<NetlinkWatch> {
 public:
  static constexpr const char* kWhat = "NetlinkWatch";

  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NetlinkWatch",
                       {
                           InstanceMethod("start", &NetlinkWatch::Start),
                           InstanceMethod("stop", &NetlinkWatch::Stop),
                           InstanceMethod("close", &NetlinkWatch::Close),
                           InstanceMethod("dumpNeighbours", &NetlinkWatch::DumpNeighbours),
                           InstanceMethod("dumpLinks", &NetlinkWatch::DumpLinks),
                           InstanceMethod("dumpRoutes", &NetlinkWatch::DumpRoutes),
                           InstanceAccessor("fd", &NetlinkWatch::Fd, nullptr),
                           InstanceAccessor("delivered", &NetlinkWatch::Delivered, nullptr),
                       });
  }

  // new NetlinkWatch(groups?): subscribed to those groups' events (default neighbours and links)
  explicit NetlinkWatch(const Napi::CallbackInfo& info) : FdReaderWrap<NetlinkWatch>(info) {
    Napi::Env env = info.Env();
    uint32_t groups = (1u << (RTNLGRP_NEIGH - 1)) | (1u << (RTNLGRP_LINK - 1));
    if (info.Length() > 0 && !info[0].IsUndefined()) {
      if (!info[0].IsArray()) {
        ThrowType(env, "NetlinkWatch: groups must be an array of 'neigh', 'link', 'route'");
        return;
      }
      Napi::Array a = info[0].As<Napi::Array>();
      groups = 0;
      for (uint32_t i = 0; i < a.Length(); i++) {
        Napi::Value v = a.Get(i);
        std::string g = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
        if (g == "neigh") {
          groups |= 1u << (RTNLGRP_NEIGH - 1);
        } else if (g == "link") {
          groups |= 1u << (RTNLGRP_LINK - 1);
        } else if (g == "route") {
          groups |= (1u << (RTNLGRP_IPV4_ROUTE - 1)) | (1u << (RTNLGRP_IPV6_ROUTE - 1));
        } else {
          ThrowType(env, "NetlinkWatch: unknown group (expected 'neigh', 'link' or 'route')");
          return;
        }
      }
      if (groups == 0) {
        ThrowType(env, "NetlinkWatch: no group");
        return;
      }
    }
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) {
      ThrowErrno(env, "socket(NETLINK_ROUTE)", errno);
      return;
    }
    int rcv = 4 << 20;  // a burst of neighbour changes (a whole segment re-resolving) fits
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
    sockaddr_nl sa;
    memset(&sa, 0, sizeof(sa));
    sa.nl_family = AF_NETLINK;
    sa.nl_groups = groups;
    if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
      int err = errno;
      close(fd);
      ThrowErrno(env, "bind(NETLINK_ROUTE, groups)", err);
      return;
    }
    Adopt(env, fd);
  }

 private:
  friend class FdReaderWrap<NetlinkWatch>;

  // Send a dump request (its answer comes through the callback, then { kind: 'done' }).
  Napi::Value Request(const Napi::CallbackInfo& info, uint16_t type, const void* fixed, size_t fixedLen, const char* what) {
    Napi::Env env = info.Env();
    if (!Open(env, kWhat)) return env.Undefined();
    std::vector<uint8_t> buf(NLMSG_SPACE(fixedLen));
    nlmsghdr* h = reinterpret_cast<nlmsghdr*>(buf.data());
    h->nlmsg_len = (uint32_t)NLMSG_LENGTH(fixedLen);
    h->nlmsg_type = type;
    h->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    h->nlmsg_seq = ++seq_;
    memcpy(NLMSG_DATA(h), fixed, fixedLen);
    sockaddr_nl to;
    memset(&to, 0, sizeof(to));
    to.nl_family = AF_NETLINK;
    if (sendto(fd_, buf.data(), h->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) < 0) {
      ThrowErrno(env, what, errno);
      return env.Undefined();
    }
    return env.Undefined();
  }

  Napi::Value DumpNeighbours(const Napi::CallbackInfo& info) {
    ndmsg nd;
    memset(&nd, 0, sizeof(nd));
    nd.ndm_family = AF_UNSPEC;
    return Request(info, RTM_GETNEIGH, &nd, sizeof(nd), "netlink RTM_GETNEIGH dump");
  }

  Napi::Value DumpLinks(const Napi::CallbackInfo& info) {
    ifinfomsg ifi;
    memset(&ifi, 0, sizeof(ifi));
    ifi.ifi_family = AF_UNSPEC;
    return Request(info, RTM_GETLINK, &ifi, sizeof(ifi), "netlink RTM_GETLINK dump");
  }

  Napi::Value DumpRoutes(const Napi::CallbackInfo& info) {
    rtmsg rt;
    memset(&rt, 0, sizeof(rt));
    rt.rtm_family = AF_UNSPEC;  // every family's routes; Route() keeps IPv4 and IPv6
    return Request(info, RTM_GETROUTE, &rt, sizeof(rt), "netlink RTM_GETROUTE dump");
  }

  // An IPv4/IPv6 gateway from RTA_GATEWAY (the route's family) or RTA_VIA (any family), "" else.
  static std::string Gateway(int family, uint16_t type, const void* data, size_t len) {
    char s[INET6_ADDRSTRLEN];
    if (type == RTA_GATEWAY && len == (family == AF_INET ? 4u : 16u)) {
      return inet_ntop(family, data, s, sizeof(s)) != nullptr ? s : "";
    }
    if (type == RTA_VIA && len >= sizeof(uint16_t)) {
      uint16_t viaFamily;
      memcpy(&viaFamily, data, sizeof(viaFamily));
      const uint8_t* addr = static_cast<const uint8_t*>(data) + sizeof(uint16_t);
      size_t alen = len - sizeof(uint16_t);
      if ((viaFamily == AF_INET && alen == 4) || (viaFamily == AF_INET6 && alen == 16)) {
        return inet_ntop(viaFamily, addr, s, sizeof(s)) != nullptr ? s : "";
      }
    }
    return "";
  }

  static Napi::Object NextHop(Napi::Env env, int ifindex, const std::string& gateway) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("ifindex", ifindex);
    if (!gateway.empty()) o.Set("gateway", gateway);
    return o;
  }

  Napi::Value Route(Napi::Env env, const nlmsghdr* h) {
    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(rtmsg))) return Napi::Value();
    const rtmsg* m = reinterpret_cast<const rtmsg*>(NLMSG_DATA(h));
    if (m->rtm_family != AF_INET && m->rtm_family != AF_INET6) return Napi::Value();
    size_t alen = m->rtm_family == AF_INET ? 4u : 16u;
    if (m->rtm_dst_len > alen * 8) return Napi::Value();
    uint8_t dst[16] = {0};
    uint32_t table = m->rtm_table, priority = 0;
    int oif = 0;
    std::string gateway;
    Napi::Array hops = Napi::Array::New(env);
    uint32_t nhops = 0;
    bool multipath = false;
    EachAttr(h, sizeof(rtmsg), [&](uint16_t type, const void* data, size_t len) {
      if (type == RTA_DST && len == alen) {
        memcpy(dst, data, alen);
      } else if (type == RTA_TABLE && len == 4) {
        memcpy(&table, data, 4);
      } else if (type == RTA_PRIORITY && len == 4) {
        memcpy(&priority, data, 4);
      } else if (type == RTA_OIF && len == 4) {
        memcpy(&oif, data, 4);
      } else if (type == RTA_GATEWAY || type == RTA_VIA) {
        std::string g = Gateway(m->rtm_family, type, data, len);
        if (!g.empty()) gateway = g;
      } else if (type == RTA_MULTIPATH) {
        multipath = true;
        const uint8_t* p = static_cast<const uint8_t*>(data);
        size_t left = len;
        while (left >= sizeof(rtnexthop)) {
          const rtnexthop* nh = reinterpret_cast<const rtnexthop*>(p);
          if (nh->rtnh_len < sizeof(rtnexthop) || nh->rtnh_len > left) break;
          std::string g;
          const rtattr* a = reinterpret_cast<const rtattr*>(p + RTNH_ALIGN(sizeof(rtnexthop)));
          int aleft = (int)nh->rtnh_len - (int)RTNH_ALIGN(sizeof(rtnexthop));
          for (; aleft > 0 && RTA_OK(a, aleft); a = RTA_NEXT(a, aleft)) {
            uint16_t t = a->rta_type & NLA_TYPE_MASK;
            if (t == RTA_GATEWAY || t == RTA_VIA) g = Gateway(m->rtm_family, t, RTA_DATA(a), (size_t)RTA_PAYLOAD(a));
          }
          hops.Set(nhops++, NextHop(env, nh->rtnh_ifindex, g));
          size_t step = RTNH_ALIGN(nh->rtnh_len);
          if (step > left) break;
          p += step;
          left -= step;
        }
      }
    });
    if (!multipath) hops.Set(nhops++, NextHop(env, oif, gateway));
    char s[INET6_ADDRSTRLEN];
    if (inet_ntop(m->rtm_family, dst, s, sizeof(s)) == nullptr) return Napi::Value();
    Napi::Object o = Napi::Object::New(env);
    o.Set("kind", "route");
    o.Set("op", h->nlmsg_type == RTM_DELROUTE ? "del" : "new");
    o.Set("replace", (h->nlmsg_flags & NLM_F_REPLACE) != 0);
    o.Set("family", m->rtm_family == AF_INET ? 4 : 6);
    o.Set("table", table);
    o.Set("type", m->rtm_type);
    o.Set("dst", s);
    o.Set("dstLen", m->rtm_dst_len);
    o.Set("priority", priority);
    o.Set("tos", m->rtm_tos);
    o.Set("nexthops", hops);
    return o;
  }

  Napi::Value Neigh(Napi::Env env, const nlmsghdr* h) {
    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(ndmsg))) return Napi::Value();
    const ndmsg* m = reinterpret_cast<const ndmsg*>(NLMSG_DATA(h));
    if (m->ndm_family != AF_INET && m->ndm_family != AF_INET6) return Napi::Value();
    std::string address, mac;
    EachAttr(h, sizeof(ndmsg), [&](uint16_t type, const void* data, size_t len) {
      if (type == NDA_DST && len == (m->ndm_family == AF_INET ? 4u : 16u)) {
        char s[INET6_ADDRSTRLEN];
        if (inet_ntop(m->ndm_family, data, s, sizeof(s)) != nullptr) address = s;
      } else if (type == NDA_LLADDR) {
        mac = Mac(data, len);
      }
    });
    if (address.empty()) return Napi::Value();
    Napi::Object o = Napi::Object::New(env);
    o.Set("kind", "neigh");
    o.Set("op", h->nlmsg_type == RTM_DELNEIGH ? "del" : "new");
    o.Set("ifindex", m->ndm_ifindex);
    o.Set("family", m->ndm_family == AF_INET ? 4 : 6);
    o.Set("address", address);
    o.Set("state", m->ndm_state);
    if (!mac.empty()) o.Set("mac", mac);
    return o;
  }

  Napi::Value Link(Napi::Env env, const nlmsghdr* h) {
    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg))) return Napi::Value();
    const ifinfomsg* m = reinterpret_cast<const ifinfomsg*>(NLMSG_DATA(h));
    std::string mac;
    EachAttr(h, sizeof(ifinfomsg), [&](uint16_t type, const void* data, size_t len) {
      if (type == IFLA_ADDRESS) mac = Mac(data, len);
    });
    Napi::Object o = Napi::Object::New(env);
    o.Set("kind", "link");
    o.Set("op", h->nlmsg_type == RTM_DELLINK ? "del" : "new");
    o.Set("ifindex", m->ifi_index);
    o.Set("up", (m->ifi_flags & IFF_UP) != 0 && (m->ifi_flags & IFF_LOWER_UP) != 0);
    if (!mac.empty()) o.Set("mac", mac);
    return o;
  }

  // one datagram -> onEvents(events[])
  int Deliver(Napi::Env env, const uint8_t* buf, size_t n, const sockaddr_storage& from, std::vector<napi_value>* args) {
    if (reinterpret_cast<const sockaddr_nl*>(&from)->nl_pid != 0) return kSkip;  // only the kernel speaks here
    Napi::Array events = Napi::Array::New(env);
    if (events.IsEmpty()) return kStopBatch;
    uint32_t count = 0;
    int left = (int)n;
    for (const nlmsghdr* h = reinterpret_cast<const nlmsghdr*>(buf); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      Napi::Value e;
      if (h->nlmsg_type == RTM_NEWNEIGH || h->nlmsg_type == RTM_DELNEIGH) {
        e = Neigh(env, h);
      } else if (h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_DELLINK) {
        e = Link(env, h);
      } else if (h->nlmsg_type == RTM_NEWROUTE || h->nlmsg_type == RTM_DELROUTE) {
        e = Route(env, h);
      } else if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
        Napi::Object o = Napi::Object::New(env);
        o.Set("kind", "done");
        e = o;
      }
      if (!e.IsEmpty()) events.Set(count++, e);
    }
    if (count == 0) return kSkip;
    args->push_back(events);
    return kDeliver;
  }

  int RecvError(Napi::Env env, int err, std::vector<napi_value>* args) {
    if (err != ENOBUFS) return kSkip;
    Napi::Array events = Napi::Array::New(env, 1);
    Napi::Object o = Napi::Object::New(env);
    o.Set("kind", "overflow");
    events.Set((uint32_t)0, o);
    args->clear();
    args->push_back(events);
    return kDeliver;
  }

  uint32_t seq_ = 0;
};

static void InitNetlinkWatch(Napi::Env env, Napi::Object exports) { exports.Set("NetlinkWatch", NetlinkWatch::Define(env)); }

EDGELB_REGISTER(netlink_watch, InitNetlinkWatch);

}  // namespace edgelb
