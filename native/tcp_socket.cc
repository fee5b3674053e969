// TCP sockets for BGP that need options before connect(): TCP_MD5SIG keys per peer (RFC 2385,
// also on listening sockets), TTL / minimum TTL (GTSM, RFC 5082), SO_REUSEADDR, bind, a
// non-blocking connect with a promise for its completion, and listen. The fd is handed to
// node:net (`new net.Socket({ fd })`, `server.listen({ fd })`), which then owns it.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>

#include "poll_fd.h"
#include "registry.h"
#include "util.h"

#ifndef IPV6_MINHOPCOUNT
#define IPV6_MINHOPCOUNT 73
#endif

namespace edgelb {

static int SocketDomain(int fd) {
  int d = 0;
  socklen_t l = sizeof(d);
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &d, &l) != 0) return -1;
  return d;
}

// Parse an address for a socket of `domain`; an IPv4 address on an IPv6 socket is v4-mapped.
static bool AddressFor(int domain, const std::string& text, int port, sockaddr_storage* ss, socklen_t* sl) {
  if (!ParseAddress(text, port, 0, ss, sl)) return false;
  if (domain == AF_INET6 && ss->ss_family == AF_INET) {
    sockaddr_in v4 = *reinterpret_cast<sockaddr_in*>(ss);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(ss);
    memset(v6, 0, sizeof(*v6));
    v6->sin6_family = AF_INET6;
    v6->sin6_port = v4.sin_port;
    v6->sin6_addr.s6_addr[10] = 0xff;
    v6->sin6_addr.s6_addr[11] = 0xff;
    memcpy(&v6->sin6_addr.s6_addr[12], &v4.sin_addr, 4);
    *sl = sizeof(*v6);
  }
  return (int)ss->ss_family == domain;
}

static bool SetMd5(Napi::Env env, int fd, const std::string& address, const std::string& key, int prefixLen) {
  int domain = SocketDomain(fd);
  tcp_md5sig md5;
  memset(&md5, 0, sizeof(md5));
  socklen_t sl;
  if (!AddressFor(domain, address, 0, &md5.tcpm_addr, &sl)) {
    ThrowType(env, "MD5 peer address does not fit the socket's family: " + address);
    return false;
  }
  if (key.size() > TCP_MD5SIG_MAXKEYLEN) {
    ThrowRange(env, "an MD5 key has at most " + std::to_string(TCP_MD5SIG_MAXKEYLEN) + " bytes");
    return false;
  }
  md5.tcpm_keylen = (uint16_t)key.size();  // 0 removes the key
  memcpy(md5.tcpm_key, key.data(), key.size());
  int opt = TCP_MD5SIG;
  if (prefixLen >= 0) {
    opt = TCP_MD5SIG_EXT;
    md5.tcpm_flags = TCP_MD5SIG_FLAG_PREFIX;
    md5.tcpm_prefixlen = (uint8_t)prefixLen;
  }
  if (setsockopt(fd, IPPROTO_TCP, opt, &md5, sizeof(md5)) != 0) {
    ThrowErrno(env, "setsockopt(TCP_MD5SIG, " + address + ")", errno);
    return false;
  }
  return true;
}

static bool SetTtl(Napi::Env env, int fd, int ttl) {
  int domain = SocketDomain(fd);
  int rc = domain == AF_INET6 ? setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof(ttl))
                              : setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));
  if (rc == 0 && domain == AF_INET6) setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));  // v4-mapped peers
  if (rc != 0) ThrowErrno(env, domain == AF_INET6 ? "setsockopt(IPV6_UNICAST_HOPS)" : "setsockopt(IP_TTL)", errno);
  return rc == 0;
}

static bool SetMinTtl(Napi::Env env, int fd, int minTtl) {
  int domain = SocketDomain(fd);
  int rc = domain == AF_INET6 ? setsockopt(fd, IPPROTO_IPV6, IPV6_MINHOPCOUNT, &minTtl, sizeof(minTtl))
                              : setsockopt(fd, IPPROTO_IP, IP_MINTTL, &minTtl, sizeof(minTtl));
  if (rc == 0 && domain == AF_INET6) setsockopt(fd, IPPROTO_IP, IP_MINTTL, &minTtl, sizeof(minTtl));
  if (rc != 0) ThrowErrno(env, domain == AF_INET6 ? "setsockopt(IPV6_MINHOPCOUNT)" : "setsockopt(IP_MINTTL)", errno);
  return rc == 0;
}

static bool Bind(Napi::Env env, int fd, const std::string& address, int port) {
  sockaddr_storage ss;
  socklen_t sl;
  if (!AddressFor(SocketDomain(fd), address, port, &ss, &sl)) {
    ThrowType(env, "bind address does not fit the socket's family: " + address);
    return false;
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), sl) != 0) {
    ThrowErrno(env, "bind(" + address + ":" + std::to_string(port) + ")", errno);
    return false;
  }
  return true;
}

// tcpSocket({ family: 4 | 6, reuseAddr?, v6Only?, ttl?, minTtl?, saveSyn?, md5?: [{ address, key, prefixLen? }],
//             bindAddress?, bindPort? }) -> fd (non-blocking, close-on-exec)
static Napi::Value TcpSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_OBJECT(info, 0, "options", env.Undefined());
  Napi::Object o = info[0].As<Napi::Object>();
  int64_t family = 4, ttl = 0, minTtl = 0, port = 0;
  bool hasFamily, hasTtl, hasMin, hasPort, hasBind, reuse = false, hasReuse, v6only = false, hasV6;
  std::string bindAddr;
  if (!OptInt(o, "family", 4, 6, &family, &hasFamily) || !OptInt(o, "ttl", 1, 255, &ttl, &hasTtl) ||
      !OptInt(o, "minTtl", 1, 255, &minTtl, &hasMin) || !OptInt(o, "bindPort", 0, 65535, &port, &hasPort) ||
      !OptString(o, "bindAddress", &bindAddr, &hasBind) || !OptBool(o, "reuseAddr", &reuse, &hasReuse) ||
      !OptBool(o, "v6Only", &v6only, &hasV6)) {
    return env.Undefined();
  }
  if (family != 4 && family != 6) {
    ThrowRange(env, "family must be 4 or 6");
    return env.Undefined();
  }
  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) {
    ThrowErrno(env, "socket(TCP)", errno);
    return env.Undefined();
  }
  auto fail = [&]() {
    close(fd);
    return env.Undefined();
  };
  int one = 1;
  if (reuse && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
    ThrowErrno(env, "setsockopt(SO_REUSEADDR)", errno);
    return fail();
  }
  if (family == 6 && hasV6) {
    int v = v6only ? 1 : 0;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof(v));
  }
  bool saveSyn = false, hasSave;
  if (!OptBool(o, "saveSyn", &saveSyn, &hasSave)) return fail();
  // a listener that keeps each SYN: the TTL it arrived with is checked per peer (GTSM) after accept
  if (saveSyn && setsockopt(fd, IPPROTO_TCP, TCP_SAVE_SYN, &one, sizeof(one)) != 0) {
    ThrowErrno(env, "setsockopt(TCP_SAVE_SYN)", errno);
    return fail();
  }
  if (hasTtl && !SetTtl(env, fd, (int)ttl)) return fail();
  if (hasMin && !SetMinTtl(env, fd, (int)minTtl)) return fail();
  Napi::Value md5 = o.Get("md5");
  if (md5.IsArray()) {
    Napi::Array a = md5.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
      Napi::Value e = a.Get(i);
      if (!e.IsObject()) {
        ThrowType(env, "md5 entries must be objects { address, key, prefixLen? }");
        return fail();
      }
      Napi::Object eo = e.As<Napi::Object>();
      std::string addr, key;
      bool hasA, hasK, hasP;
      int64_t plen = -1;
      if (!OptString(eo, "address", &addr, &hasA) || !OptBytes(eo, "key", &key, &hasK) ||
          !OptInt(eo, "prefixLen", 0, 128, &plen, &hasP)) {
        return fail();
      }
      if (!hasA || !hasK) {
        ThrowType(env, "md5 entries need address and key");
        return fail();
      }
      if (!SetMd5(env, fd, addr, key, hasP ? (int)plen : -1)) return fail();
    }
  } else if (!md5.IsUndefined() && !md5.IsNull()) {
    ThrowType(env, "option md5 must be an array");
    return fail();
  }
  if (hasBind || hasPort) {
    if (!Bind(env, fd, hasBind ? bindAddr : (family == 4 ? "0.0.0.0" : "::"), (int)port)) return fail();
  }
  return Napi::Number::New(env, fd);
}

// tcpSetMd5(fd, address, key: Buffer | string | null, prefixLen?) — null or empty removes the key
static Napi::Value TcpSetMd5(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "fd", 0, 0x7fffffff, fd, env.Undefined());
  EDGELB_ARG_STRING(info, 1, "address", env.Undefined());
  std::string key;
  if (info.Length() > 2 && info[2].IsBuffer()) {
    auto b = info[2].As<Napi::Buffer<uint8_t>>();
    key.assign(reinterpret_cast<const char*>(b.Data()), b.Length());
  } else if (info.Length() > 2 && info[2].IsString()) {
    key = info[2].As<Napi::String>().Utf8Value();
  } else if (info.Length() > 2 && !info[2].IsNull() && !info[2].IsUndefined()) {
    ThrowType(env, "key must be a Buffer, a string or null");
    return env.Undefined();
  }
  int plen = -1;
  if (info.Length() > 3 && !info[3].IsUndefined()) {
    EDGELB_ARG_INT(info, 3, "prefixLen", 0, 128, p, env.Undefined());
    plen = (int)p;
  }
  SetMd5(env, (int)fd, info[1].As<Napi::String>().Utf8Value(), key, plen);
  return env.Undefined();
}

static Napi::Value TcpSetTtl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "fd", 0, 0x7fffffff, fd, env.Undefined());
  EDGELB_ARG_INT(info, 1, "ttl", 1, 255, ttl, env.Undefined());
  SetTtl(env, (int)fd, (int)ttl);
  return env.Undefined();
}

static Napi::Value TcpSetMinTtl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "fd", 0, 0x7fffffff, fd, env.Undefined());
  EDGELB_ARG_INT(info, 1, "minTtl", 0, 255, ttl, env.Undefined());
  SetMinTtl(env, (int)fd, (int)ttl);
  return env.Undefined();
}

// tcpSavedSynTtl(fd) -> the TTL / hop limit of the SYN that opened this accepted connection (the
// listener had saveSyn), or null when none was saved. Readable once: the kernel frees it.
static Napi::Value TcpSavedSynTtl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "fd", 0, 0x7fffffff, fd, env.Undefined());
  unsigned char buf[512];
  socklen_t len = sizeof(buf);
  if (getsockopt((int)fd, IPPROTO_TCP, TCP_SAVED_SYN, buf, &len) != 0) {
    if (errno == ENOENT) return env.Null();
    ThrowErrno(env, "getsockopt(TCP_SAVED_SYN)", errno);
    return env.Undefined();
  }
  // the saved headers start at the network header: IPv4 TTL at byte 8, IPv6 hop limit at byte 7
  if (len >= 20 && (buf[0] >> 4) == 4) return Napi::Number::New(env, buf[8]);
  if (len >= 40 && (buf[0] >> 4) == 6) return Napi::Number::New(env, buf[7]);
  return env.Null();
}

static Napi::Value TcpBind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "fd", 0, 0x7fffffff, fd, env.Undefined());
  EDGELB_ARG_STRING(info, 1, "address", env.Undefined());
  EDGELB_ARG_INT(info, 2, "port", 0, 65535, port, env.Undefined());
  Bind(env, (int)fd, info[1].As<Napi::String>().Utf8Value(), (int)port);
  return env.Undefined();
}

// tcpConnect(fd, address, port) -> true if connected at once, false while in progress
static Napi::Value TcpConnect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "fd", 0, 0x7fffffff, fd, env.Undefined());
  EDGELB_ARG_STRING(info, 1, "address", env.Undefined());
  EDGELB_ARG_INT(info, 2, "port", 1, 65535, port, env.Undefined());
  std::string addr = info[1].As<Napi::String>().Utf8Value();
  sockaddr_storage ss;
  socklen_t sl;
  if (!AddressFor(SocketDomain((int)fd), addr, (int)port, &ss, &sl)) {
    ThrowType(env, "connect address does not fit the socket's family: " + addr);
    return env.Undefined();
  }
  if (connect((int)fd, reinterpret_cast<sockaddr*>(&ss), sl) == 0) return Napi::Boolean::New(env, true);
  if (errno == EINPROGRESS) return Napi::Boolean::New(env, false);
  ThrowErrno(env, "connect(" + addr + ":" + std::to_string(port) + ")", errno);
  return env.Undefined();
}

// Waits for a non-blocking connect: resolves when connected, rejects with the socket error or
// ETIMEDOUT. The fd stays open either way (the caller closes or hands it to node:net).
class ConnectWait {
 public:
  ConnectWait(Napi::Env env, int fd, int64_t timeoutMs) : env_(env), fd_(fd), deferred_(Napi::Promise::Deferred::New(env)) {
    poller_ = std::make_unique<FdPoller>(env, fd, [this](int status, int) { Finish(status < 0 ? -status : SoError(), true); });
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    timer_ = static_cast<uv_timer_t*>(malloc(sizeof(uv_timer_t)));
    uv_timer_init(loop, timer_);
    timer_->data = this;
    id_ = TrackResource(env, [this]() { Finish(ECANCELED, false); });
    int rc = poller_->Start(UV_WRITABLE);
    if (rc != 0) {
      start_error_ = -rc;
      return;
    }
    if (timeoutMs > 0) {
      uv_timer_start(timer_, [](uv_timer_t* t) { static_cast<ConnectWait*>(t->data)->Finish(ETIMEDOUT, true); },
                     (uint64_t)timeoutMs, 0);
    }
  }
  Napi::Promise Promise() { return deferred_.Promise(); }
  int start_error() const { return start_error_; }

  // Settles the promise (when `settle`) and frees everything, this object included.
  void Finish(int err, bool settle) {
    if (done_) return;
    done_ = true;
    poller_.reset();
    uv_timer_stop(timer_);
    CloseUvHandle(env_, reinterpret_cast<uv_handle_t*>(timer_));
    if (id_ != 0) UntrackResource(env_, id_);
    if (settle) {
      Napi::HandleScope hs(env_);
      Napi::AsyncContext ctx(env_, "edgelb:tcpConnectWait");
      Napi::CallbackScope scope(env_, ctx);  // runs microtasks when it closes
      if (err == 0) {
        deferred_.Resolve(env_.Undefined());
      } else {
        ThrowErrno(env_, "connect", err);
        Napi::Error e = env_.GetAndClearPendingException();
        deferred_.Reject(e.Value());
      }
    }
    delete this;
  }

 private:
  int SoError() {
    int e = 0;
    socklen_t l = sizeof(e);
    if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &e, &l) != 0) return errno;
    return e;
  }

  Napi::Env env_;
  int fd_;
  Napi::Promise::Deferred deferred_;
  std::unique_ptr<FdPoller> poller_;
  uv_timer_t* timer_ = nullptr;
  uint64_t id_ = 0;
  bool done_ = false;
  int start_error_ = 0;
};

// tcpConnectWait(fd, timeoutMs = 0 (none)) -> Promise<void>
static Napi::Value TcpConnectWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "fd", 0, 0x7fffffff, fd, env.Undefined());
  int64_t timeout = 0;
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    EDGELB_ARG_INT(info, 1, "timeoutMs", 0, 0x7fffffff, t, env.Undefined());
    timeout = t;
  }
  auto* w = new ConnectWait(env, (int)fd, timeout);
  Napi::Promise p = w->Promise();
  if (w->start_error() != 0) w->Finish(w->start_error(), true);
  return p;
}

static Napi::Value TcpListen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "fd", 0, 0x7fffffff, fd, env.Undefined());
  int64_t backlog = 128;
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    EDGELB_ARG_INT(info, 1, "backlog", 1, 65535, b, env.Undefined());
    backlog = b;
  }
  if (listen((int)fd, (int)backlog) != 0) ThrowErrno(env, "listen", errno);
  return env.Undefined();
}

static Napi::Value SocketError(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "fd", 0, 0x7fffffff, fd, env.Undefined());
  int e = 0;
  socklen_t l = sizeof(e);
  if (getsockopt((int)fd, SOL_SOCKET, SO_ERROR, &e, &l) != 0) {
    ThrowErrno(env, "getsockopt(SO_ERROR)", errno);
    return env.Undefined();
  }
  return Napi::Number::New(env, e);
}

static Napi::Value NameOf(const Napi::CallbackInfo& info, bool peer) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "fd", 0, 0x7fffffff, fd, env.Undefined());
  sockaddr_storage ss;
  socklen_t sl = sizeof(ss);
  int rc = peer ? getpeername((int)fd, reinterpret_cast<sockaddr*>(&ss), &sl)
                : getsockname((int)fd, reinterpret_cast<sockaddr*>(&ss), &sl);
  if (rc != 0) {
    ThrowErrno(env, peer ? "getpeername" : "getsockname", errno);
    return env.Undefined();
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("address", Napi::String::New(env, FormatAddress(reinterpret_cast<sockaddr*>(&ss))));
  o.Set("port", Napi::Number::New(env, AddressPort(reinterpret_cast<sockaddr*>(&ss))));
  o.Set("family", Napi::Number::New(env, ss.ss_family == AF_INET6 ? 6 : 4));
  return o;
}

static Napi::Value SockName(const Napi::CallbackInfo& info) { return NameOf(info, false); }
static Napi::Value PeerName(const Napi::CallbackInfo& info) { return NameOf(info, true); }

static void InitTcp(Napi::Env env, Napi::Object exports) {
  exports.Set("tcpSocket", Napi::Function::New(env, TcpSocket, "tcpSocket"));
  exports.Set("tcpSetMd5", Napi::Function::New(env, TcpSetMd5, "tcpSetMd5"));
  exports.Set("tcpSetTtl", Napi::Function::New(env, TcpSetTtl, "tcpSetTtl"));
  exports.Set("tcpSetMinTtl", Napi::Function::New(env, TcpSetMinTtl, "tcpSetMinTtl"));
  exports.Set("tcpSavedSynTtl", Napi::Function::New(env, TcpSavedSynTtl, "tcpSavedSynTtl"));
  exports.Set("tcpBind", Napi::Function::New(env, TcpBind, "tcpBind"));
  exports.Set("tcpConnect", Napi::Function::New(env, TcpConnect, "tcpConnect"));
  exports.Set("tcpConnectWait", Napi::Function::New(env, TcpConnectWait, "tcpConnectWait"));
  exports.Set("tcpListen", Napi::Function::New(env, TcpListen, "tcpListen"));
  exports.Set("socketError", Napi::Function::New(env, SocketError, "socketError"));
  exports.Set("sockName", Napi::Function::New(env, SockName, "sockName"));
  exports.Set("peerName", Napi::Function::New(env, PeerName, "peerName"));
}

EDGELB_REGISTER(tcp, InitTcp);

}  // namespace edgelb
