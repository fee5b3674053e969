// ICMP echo sockets for ping probes: a raw socket (root or CAP_NET_RAW), else an unprivileged
// SOCK_DGRAM ping socket. send() takes an ICMP/ICMPv6 message (IPv4 checksums are filled in
// here; the kernel does ICMPv6's); replies reach a JavaScript callback without their IP header.
#include <arpa/inet.h>
#include <errno.h>
#include <linux/icmp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "fd_reader.h"
#include "registry.h"
#include "util.h"

namespace edgelb {

static uint16_t InetChecksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += (uint32_t)(p[i] << 8 | p[i + 1]);
  if (n & 1) sum += (uint32_t)(p[n - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

class IcmpSocket : public FdReaderWrap<IcmpSocket> {
 public:
  static constexpr const char* kWhat = "IcmpSocket";

  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "IcmpSocket",
                       {
                           InstanceMethod("send", &IcmpSocket::Send),
                           InstanceMethod("start", &IcmpSocket::Start),
                           InstanceMethod("stop", &IcmpSocket::Stop),
                           InstanceMethod("close", &IcmpSocket::Close),
                           InstanceAccessor("fd", &IcmpSocket::Fd, nullptr),
                           InstanceAccessor("delivered", &IcmpSocket::Delivered, nullptr),
                           InstanceAccessor("kind", &IcmpSocket::Kind, nullptr),
                           InstanceAccessor("family", &IcmpSocket::Family, nullptr),
                       });
  }

  // new IcmpSocket(family: 4 | 6, { kind?: 'raw' | 'dgram' })
  explicit IcmpSocket(const Napi::CallbackInfo& info) : FdReaderWrap<IcmpSocket>(info) {
    Napi::Env env = info.Env();
    EDGELB_ARG_INT(info, 0, "family", 4, 6, fam, );
    if (fam != 4 && fam != 6) {
      ThrowRange(env, "family must be 4 or 6");
      return;
    }
    std::string kind;
    bool hasKind = false;
    if (info.Length() > 1 && info[1].IsObject()) {
      if (!OptString(info[1].As<Napi::Object>(), "kind", &kind, &hasKind)) return;
    }
    family_ = (int)fam;
    int domain = fam == 4 ? AF_INET : AF_INET6;
    int proto = fam == 4 ? (int)IPPROTO_ICMP : (int)IPPROTO_ICMPV6;
    int fd = -1;
    if (!hasKind || kind == "raw") {
      fd = socket(domain, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
      raw_ = fd >= 0;
    }
    if (fd < 0 && (!hasKind || kind == "dgram")) {
      fd = socket(domain, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
      raw_ = false;
    }
    if (fd < 0) {
      ThrowErrno(env, fam == 4 ? "socket(ICMP)" : "socket(ICMPv6)", errno);
      return;
    }
    if (raw_) {
      // only echo replies wake us up
      if (fam == 4) {
        icmp_filter f;
        f.data = ~(1U << ICMP_ECHOREPLY);
        setsockopt(fd, SOL_RAW, ICMP_FILTER, &f, sizeof(f));
      } else {
        icmp6_filter f;
        ICMP6_FILTER_SETBLOCKALL(&f);
        ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
        setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f));
      }
    }
    Adopt(env, fd);
  }

 private:
  friend class FdReaderWrap<IcmpSocket>;

  // send(address, message: Buffer (ICMP header + payload)) -> bytes sent
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EDGELB_ARG_STRING(info, 0, "address", env.Undefined());
    EDGELB_ARG_BUFFER(info, 1, "message", env.Undefined());
    if (!Open(env, kWhat)) return env.Undefined();
    sockaddr_storage ss;
    socklen_t sl;
    std::string addr = info[0].As<Napi::String>().Utf8Value();
    if (!ParseAddress(addr, 0, family_ == 4 ? AF_INET : AF_INET6, &ss, &sl)) {
      ThrowType(env, "not an IPv" + std::to_string(family_) + " address: " + addr);
      return env.Undefined();
    }
    auto msg = info[1].As<Napi::Buffer<uint8_t>>();
    if (msg.Length() < 8) {
      ThrowRange(env, "an ICMP message needs at least 8 bytes");
      return env.Undefined();
    }
    std::string copy(reinterpret_cast<const char*>(msg.Data()), msg.Length());
    uint8_t* p = reinterpret_cast<uint8_t*>(&copy[0]);
    if (family_ == 4) {
      p[2] = p[3] = 0;
      uint16_t c = InetChecksum(p, copy.size());
      p[2] = (uint8_t)(c >> 8);
      p[3] = (uint8_t)(c & 0xff);
    }
    ssize_t n = sendto(fd_, p, copy.size(), 0, reinterpret_cast<sockaddr*>(&ss), sl);
    if (n < 0) {
      ThrowErrno(env, "sendto(ICMP " + addr + ")", errno);
      return env.Undefined();
    }
    return Napi::Number::New(env, (double)n);
  }

  // one received reply -> onMessage(message: Buffer (ICMP header + payload), from: string)
  int Deliver(Napi::Env env, const uint8_t* buf, size_t n, const sockaddr_storage& from, std::vector<napi_value>* args) {
    const uint8_t* p = buf;
    size_t len = n;
    if (raw_ && family_ == 4) {  // raw IPv4 sockets deliver the IP header too
      size_t ihl = (size_t)(buf[0] & 0x0f) * 4;
      if (len < ihl) return kSkip;
      p += ihl;
      len -= ihl;
    }
    Napi::Buffer<uint8_t> msg = Napi::Buffer<uint8_t>::Copy(env, p, len);
    if (msg.IsEmpty()) return kStopBatch;  // the environment is shutting down
    args->push_back(msg);
    args->push_back(Napi::String::New(env, FormatAddress(reinterpret_cast<const sockaddr*>(&from))));
    return kDeliver;
  }

  Napi::Value Kind(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), raw_ ? "raw" : "dgram"); }
  Napi::Value Family(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), family_); }

  int family_ = 4;
  bool raw_ = false;
};

static void InitIcmp(Napi::Env env, Napi::Object exports) { exports.Set("IcmpSocket", IcmpSocket::Define(env)); }

EDGELB_REGISTER(icmp, InitIcmp);

}  // namespace edgelb
