// FdReaderWrap<T>: the one skeleton of a socket object whose incoming datagrams or frames reach a
// JavaScript callback (PacketSocket, IcmpSocket). It owns the fd and its cleanup registration,
// start(cb)/stop()/close(), the FdPoller (re-armed after ENETDOWN), the ref that keeps the event
// loop alive while reading, and the bounded receive loop. T only opens the fd (Adopt) and turns
// one received message into callback arguments:
//   int T::Deliver(Napi::Env, const uint8_t* buf, size_t n, const sockaddr_storage& from,
//                  std::vector<napi_value>* args)
// returning kDeliver (call back with args), kSkip (drop this message) or kStopBatch (no JavaScript
// runs any more: the environment is shutting down). T may also define RecvError (see below).
#pragma once

#include <errno.h>
#include <string.h>
#include <napi.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "poll_fd.h"
#include "util.h"

namespace edgelb {

template <class T>
class FdReaderWrap : public Napi::ObjectWrap<T> {
 public:
  explicit FdReaderWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<T>(info) {}
  ~FdReaderWrap() override { Release(); }

 protected:
  // Messages read per wakeup: one busy socket cannot starve the loop.
  static constexpr int kBatch = 64;
  enum { kSkip = 0, kDeliver = 1, kStopBatch = -1 };

  // Take ownership of an open fd (released by close(), the destructor or environment teardown).
  void Adopt(Napi::Env env, int fd) {
    fd_ = fd;
    cleanup_id_ = TrackResource(env, [this]() { Release(); });
  }

  bool Open(Napi::Env env, const char* what) {
    if (fd_ < 0) {
      ThrowErrno(env, std::string(what) + " is closed", EBADF);
      return false;
    }
    return true;
  }

  void Release() {
    poller_.reset();  // closes the uv handle before the fd
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
    if (!callback_.IsEmpty()) callback_.Reset();
    if (ref_held_) {
      ref_held_ = false;
      this->Unref();
    }
    if (cleanup_id_ != 0) {
      UntrackResource(this->Env(), cleanup_id_);
      cleanup_id_ = 0;
    }
  }

  // start(onMessage): keeps the object (and the event loop) alive until stop() or close()
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EDGELB_ARG_FUNCTION(info, 0, "callback", env.Undefined());
    if (!Open(env, T::kWhat)) return env.Undefined();
    callback_ = Napi::Persistent(info[0].As<Napi::Function>());
    if (!poller_) poller_ = std::make_unique<FdPoller>(env, fd_, [this](int, int) { OnReadable(); }, true);
    int rc = poller_->Start(UV_READABLE);
    if (rc != 0) {
      ThrowErrno(env, "uv_poll_start", -rc);
      return env.Undefined();
    }
    if (!ref_held_) {
      this->Ref();
      ref_held_ = true;
    }
    return env.Undefined();
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    if (poller_) poller_->Stop();
    if (ref_held_) {
      ref_held_ = false;
      this->Unref();
    }
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Release();
    return info.Env().Undefined();
  }

  Napi::Value Fd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }
  // Messages handed to the JavaScript callback since the socket was opened.
  Napi::Value Delivered(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), (double)delivered_); }

  // A receive error other than EAGAIN (e.g. ENOBUFS: a netlink socket lost messages). T may
  // shadow this to tell JavaScript (fill args, return kDeliver); by default it is ignored.
  int RecvError(Napi::Env, int, std::vector<napi_value>*) { return kSkip; }

  int fd_ = -1;

 private:
  void OnReadable() {
    Napi::Env env = this->Env();
    Napi::HandleScope scope(env);
    uint8_t buf[65536];
    std::vector<napi_value> args;
    for (int i = 0; i < kBatch && fd_ >= 0 && !callback_.IsEmpty(); i++) {
      sockaddr_storage from;
      socklen_t fl = sizeof(from);
      memset(&from, 0, sizeof(from));
      ssize_t n = recvfrom(fd_, buf, sizeof(buf), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &fl);
      if (n < 0) {  // EAGAIN (or a transient error: the next wakeup retries)
        if (errno != EAGAIN && errno != EWOULDBLOCK && static_cast<T*>(this)->RecvError(env, errno, &args) == kDeliver && !callback_.IsEmpty()) {
          callback_.MakeCallback(this->Value(), args.size(), args.data());
          ReportPendingException(env);
        }
        break;
      }
      Napi::HandleScope each(env);
      args.clear();
      int what = static_cast<T*>(this)->Deliver(env, buf, (size_t)n, from, &args);
      if (what == kStopBatch) break;
      if (what == kSkip) continue;
      delivered_++;
      callback_.MakeCallback(this->Value(), args.size(), args.data());
      ReportPendingException(env);
    }
  }

  std::unique_ptr<FdPoller> poller_;
  Napi::FunctionReference callback_;
  bool ref_held_ = false;
  uint64_t cleanup_id_ = 0;
  uint64_t delivered_ = 0;
};

}  // namespace edgelb
