// AF_PACKET sockets for ARP/NDP: bound to one interface and one EtherType, multicast membership
// (IPv6 solicited-node groups), raw frame send, an optional kernel socket filter (ARP requests;
// neighbour solicitations, narrowed to a target list: packet_filter.h) so other frames are never
// copied to JavaScript, and frames delivered to a JavaScript callback by a uv_poll watcher (never
// blocking the event loop).
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "fd_reader.h"
#include "packet_filter.h"
#include "registry.h"
#include "util.h"

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

namespace edgelb {

static const char* PktTypeName(int t) {
  switch (t) {
    case PACKET_HOST: return "host";
    case PACKET_BROADCAST: return "broadcast";
    case PACKET_MULTICAST: return "multicast";
    case PACKET_OTHERHOST: return "otherhost";
    case PACKET_OUTGOING: return "outgoing";
    default: return "other";
  }
}

class PacketSocket : public FdReaderWrap<PacketSocket> {
 public:
  static constexpr const char* kWhat = "PacketSocket";

  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "PacketSocket",
                       {
                           InstanceMethod("send", &PacketSocket::Send),
                           InstanceMethod("addMembership", &PacketSocket::AddMembership),
                           InstanceMethod("dropMembership", &PacketSocket::DropMembership),
                           InstanceMethod("setNdpTargets", &PacketSocket::SetNdpTargets),
                           InstanceMethod("start", &PacketSocket::Start),
                           InstanceMethod("stop", &PacketSocket::Stop),
                           InstanceMethod("close", &PacketSocket::Close),
                           InstanceAccessor("fd", &PacketSocket::Fd, nullptr),
                           InstanceAccessor("delivered", &PacketSocket::Delivered, nullptr),
                           InstanceAccessor("ifindex", &PacketSocket::Ifindex, nullptr),
                           InstanceAccessor("mac", &PacketSocket::Mac, nullptr),
                       });
  }

  // new PacketSocket(ifname, protocol (EtherType, e.g. 0x0806),
  //                  { ignoreOutgoing?, promiscuous?, filter?: 'arp-request' | 'neighbour-solicitation' })
  explicit PacketSocket(const Napi::CallbackInfo& info) : FdReaderWrap<PacketSocket>(info) {
    Napi::Env env = info.Env();
    EDGELB_ARG_STRING(info, 0, "ifname", );
    EDGELB_ARG_INT(info, 1, "protocol", 0, 0xffff, proto, );
    std::string ifname = info[0].As<Napi::String>().Utf8Value();
    bool ignoreOut = false, promisc = false, has = false, hasFilter = false;
    std::string filter;
    if (info.Length() > 2 && info[2].IsObject()) {
      Napi::Object o = info[2].As<Napi::Object>();
      if (!OptBool(o, "ignoreOutgoing", &ignoreOut, &has)) return;
      if (!OptBool(o, "promiscuous", &promisc, &has)) return;
      if (!OptString(o, "filter", &filter, &hasFilter)) return;
      if (hasFilter && filter != "arp-request" && filter != "neighbour-solicitation") {
        ThrowRange(env, "option filter must be 'arp-request' or 'neighbour-solicitation'");
        return;
      }
    }
    protocol_ = (uint16_t)proto;
    ifindex_ = (int)if_nametoindex(ifname.c_str());
    if (ifindex_ == 0) {
      ThrowErrno(env, "if_nametoindex(" + ifname + ")", errno);
      return;
    }
    // protocol 0 until bound, so no frame of another interface slips in before bind()
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      ThrowErrno(env, "socket(AF_PACKET)", errno);
      return;
    }
    // the filter goes on before bind(): no frame is queued unfiltered
    if (hasFilter) {
      std::vector<sock_filter> prog = filter == "arp-request" ? ArpRequestFilter() : NeighbourSolicitationFilter(nullptr);
      int err = AttachFilter(fd, &prog);
      if (err != 0) {
        close(fd);
        ThrowErrno(env, "SO_ATTACH_FILTER", err);
        return;
      }
    }
    sockaddr_ll sll;
    memset(&sll, 0, sizeof(sll));
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(protocol_);
    sll.sll_ifindex = ifindex_;
    if (bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof(sll)) != 0) {
      int err = errno;
      close(fd);
      ThrowErrno(env, "bind(AF_PACKET, " + ifname + ")", err);
      return;
    }
    if (ignoreOut) {
      int one = 1;
      setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
    }
    if (promisc && !Membership(fd, PACKET_ADD_MEMBERSHIP, PACKET_MR_PROMISC, nullptr)) {
      int err = errno;
      close(fd);
      ThrowErrno(env, "PACKET_MR_PROMISC", err);
      return;
    }
    ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0) memcpy(mac_, ifr.ifr_hwaddr.sa_data, 6);
    Adopt(env, fd);
  }

 private:
  friend class FdReaderWrap<PacketSocket>;

  bool Membership(int fd, int op, int type, const uint8_t* mac) {
    packet_mreq mr;
    memset(&mr, 0, sizeof(mr));
    mr.mr_ifindex = ifindex_;
    mr.mr_type = (unsigned short)type;
    if (mac != nullptr) {
      mr.mr_alen = 6;
      memcpy(mr.mr_address, mac, 6);
    }
    return setsockopt(fd, SOL_PACKET, op, &mr, sizeof(mr)) == 0;
  }

  // send(frame) -> bytes sent
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EDGELB_ARG_BUFFER(info, 0, "frame", env.Undefined());
    if (!Open(env, kWhat)) return env.Undefined();
    auto frame = info[0].As<Napi::Buffer<uint8_t>>();
    if (frame.Length() < ETH_HLEN) {
      ThrowRange(env, "a frame needs at least 14 bytes (Ethernet header)");
      return env.Undefined();
    }
    sockaddr_ll sll;
    memset(&sll, 0, sizeof(sll));
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = ifindex_;
    sll.sll_halen = 6;
    memcpy(sll.sll_addr, frame.Data(), 6);
    memcpy(&sll.sll_protocol, frame.Data() + 12, 2);
    ssize_t n = sendto(fd_, frame.Data(), frame.Length(), 0, reinterpret_cast<sockaddr*>(&sll), sizeof(sll));
    if (n < 0) {
      ThrowErrno(env, "sendto(AF_PACKET)", errno);
      return env.Undefined();
    }
    return Napi::Number::New(env, (double)n);
  }

  // a 6-byte MAC Buffer, or an IPv6 address string (mapped to 33:33 + its last 4 bytes)
  bool GroupMac(Napi::Env env, Napi::Value v, uint8_t mac[6]) {
    if (v.IsBuffer() && v.As<Napi::Buffer<uint8_t>>().Length() == 6) {
      memcpy(mac, v.As<Napi::Buffer<uint8_t>>().Data(), 6);
      return true;
    }
    if (v.IsString()) {
      in6_addr a;
      if (inet_pton(AF_INET6, v.As<Napi::String>().Utf8Value().c_str(), &a) == 1) {
        mac[0] = 0x33;
        mac[1] = 0x33;
        memcpy(mac + 2, a.s6_addr + 12, 4);
        return true;
      }
    }
    ThrowType(env, "group must be a 6-byte MAC Buffer or an IPv6 address string");
    return false;
  }

  Napi::Value AddMembership(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint8_t mac[6];
    if (!Open(env, kWhat) || !GroupMac(env, info[0], mac)) return env.Undefined();
    if (!Membership(fd_, PACKET_ADD_MEMBERSHIP, PACKET_MR_MULTICAST, mac)) ThrowErrno(env, "PACKET_ADD_MEMBERSHIP", errno);
    return env.Undefined();
  }

  Napi::Value DropMembership(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint8_t mac[6];
    if (!Open(env, kWhat) || !GroupMac(env, info[0], mac)) return env.Undefined();
    if (!Membership(fd_, PACKET_DROP_MEMBERSHIP, PACKET_MR_MULTICAST, mac)) ThrowErrno(env, "PACKET_DROP_MEMBERSHIP", errno);
    return env.Undefined();
  }

  // setNdpTargets(targets: string[] | null) -> true when the kernel matches the targets exactly,
  // false when it passes every neighbour solicitation (null, more than kMaxFilterTargets, or a
  // program larger than the kernel's net.core.optmem_max allows).
  // Replaces the socket's filter with the neighbour-solicitation one, atomically.
  Napi::Value SetNdpTargets(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Open(env, kWhat)) return env.Undefined();
    std::vector<Ipv6Bytes> targets;
    bool all = info.Length() == 0 || info[0].IsNull() || info[0].IsUndefined();
    if (!all) {
      if (!info[0].IsArray()) {
        ThrowType(env, "targets must be an array of IPv6 addresses or null");
        return env.Undefined();
      }
      Napi::Array a = info[0].As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); i++) {
        Napi::Value v = a.Get(i);
        Ipv6Bytes t;
        if (!v.IsString() || inet_pton(AF_INET6, v.As<Napi::String>().Utf8Value().c_str(), t.data()) != 1) {
          ThrowType(env, "targets[" + std::to_string(i) + "] is not an IPv6 address");
          return env.Undefined();
        }
        targets.push_back(t);
      }
    }
    bool exact = !all && targets.size() <= kMaxFilterTargets;
    std::vector<sock_filter> prog = NeighbourSolicitationFilter(exact ? &targets : nullptr);
    int err = AttachFilter(fd_, &prog);
    if (err == ENOMEM && exact) {  // over net.core.optmem_max: every solicitation instead
      exact = false;
      prog = NeighbourSolicitationFilter(nullptr);
      err = AttachFilter(fd_, &prog);
    }
    if (err != 0) {
      ThrowErrno(env, "SO_ATTACH_FILTER", err);
      return env.Undefined();
    }
    return Napi::Boolean::New(env, exact);
  }

  // one received frame -> onFrame(frame: Buffer, meta: { pktType, protocol, ifindex })
  int Deliver(Napi::Env env, const uint8_t* buf, size_t n, const sockaddr_storage& ss, std::vector<napi_value>* args) {
    const sockaddr_ll& from = reinterpret_cast<const sockaddr_ll&>(ss);
    Napi::Object meta = Napi::Object::New(env);
    meta.Set("pktType", Napi::String::New(env, PktTypeName(from.sll_pkttype)));
    meta.Set("protocol", Napi::Number::New(env, ntohs(from.sll_protocol)));
    meta.Set("ifindex", Napi::Number::New(env, from.sll_ifindex));
    Napi::Buffer<uint8_t> frame = Napi::Buffer<uint8_t>::Copy(env, buf, n);
    if (frame.IsEmpty()) return kStopBatch;  // the environment is shutting down
    args->push_back(frame);
    args->push_back(meta);
    return kDeliver;
  }

  Napi::Value Ifindex(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), ifindex_); }
  Napi::Value Mac(const Napi::CallbackInfo& info) { return Napi::Buffer<uint8_t>::Copy(info.Env(), mac_, 6); }

  int ifindex_ = 0;
  uint16_t protocol_ = 0;
  uint8_t mac_[6] = {0};
};

static void InitPacket(Napi::Env env, Napi::Object exports) {
  exports.Set("PacketSocket", PacketSocket::Define(env));
}

EDGELB_REGISTER(packet, InitPacket);

}  // namespace edgelb
