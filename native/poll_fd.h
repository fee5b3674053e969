// A readable-fd watcher on the Node event loop (libuv uv_poll), used by the packet and ICMP
// sockets so frames reach JavaScript without blocking the loop or needing a thread.
#pragma once

#include <napi.h>
#include <uv.h>

#include <functional>

namespace edgelb {

class FdPoller {
 public:
  // events: UV_READABLE and/or UV_WRITABLE; cb gets the libuv status and events.
  // rearmOnError: a socket error (ENETDOWN after a link flap) makes libuv stop polling and report
  // UV_EBADF; a reader wants to clear the error and keep polling instead (cb is not called).
  FdPoller(Napi::Env env, int fd, std::function<void(int status, int events)> cb, bool rearmOnError = false);
  ~FdPoller();
  FdPoller(const FdPoller&) = delete;
  FdPoller& operator=(const FdPoller&) = delete;

  // Returns 0 or a negative libuv error.
  int Start(int events);
  void Stop();
  bool active() const { return active_; }

 private:
  static void OnPoll(uv_poll_t* h, int status, int events);
  napi_env env_;
  uv_poll_t* handle_ = nullptr;
  std::function<void(int, int)> cb_;
  int fd_;
  bool rearm_;
  int events_ = 0;
  bool active_ = false;
};

}  // namespace edgelb
