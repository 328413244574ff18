// spawnAsync: spawn without blocking the JS thread. The clone is made here, on the JS thread
// (it is the child's parent thread: PR_SET_PDEATHSIG follows the thread that cloned, and the
// JS thread lives as long as the environment); the status session that follows — the id maps
// (newuidmap/newgidmap run and waited for), the parent's rlimits, caller hooks, the wait for
// the child's execve — runs on a thread of its own, and the result comes back to the loop
// through a thread-safe function. The network step's JS (spawn's `network.veth`) is handed
// to the JS thread the same way while the session thread waits for its answer.
//
// With CLONE_VM the child runs on memory we own until it has exec'd: its own stack (mapped
// per spawn, unlike spawn's cached one, since several may be in flight), the copied plan and
// its strings, the context. All of it lives in one AsyncSpawn, freed only in the
// thread-safe function's finalizer, after the session thread has been joined. At environment
// teardown that finalizer kills the child first, so the join is short; a helper is bounded
// by its own timeout (spawn_maps.cc), a hook by its own.
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "errors.h"
#include "spawn_start.h"
#include "sys.h"

namespace nsbox {

namespace {

constexpr size_t kStackSize = 256 * 1024;
constexpr size_t kThreadStack = 256 * 1024;

struct AsyncSpawn;

// What the thread-safe function carries: a MSG_NETWORK call, or the session's end.
enum Call { kNetwork = 1, kDone = 2 };
struct Item {
  AsyncSpawn* a;
  Call what;
};

struct AsyncSpawn {
  Item netItem{this, kNetwork}, doneItem{this, kDone};
  std::vector<int32_t> ops;
  std::vector<char> strings;
  ParsedPlan plan;
  MapsSpec maps;
  ParentSpec parent;
  void* stack = MAP_FAILED;
  Fd cancel;  // an eventfd: the finalizer's word to a helper's wait (Session::cancelFd)
  Started st;
  std::unique_ptr<Session> ss;
  napi_threadsafe_function tsfn = nullptr;
  napi_ref onNetwork = nullptr;
  napi_ref onDone = nullptr;
  pthread_t thread;
  bool threadStarted = false;
  // The session's end, read on the JS thread once the thread has said so.
  bool proto = false;
  Fd* live = nullptr;
  long livePid = 0;
  // MSG_NETWORK handed to the JS thread, and the environment's end (finalizer).
  std::mutex m;
  std::condition_variable cv;
  bool netAsked = false, netAnswered = false, closing = false, ended = false;
  bool delivered = false;  // the result reached JS (CallJs): the child is JS's from then on
  int32_t netAnswer = ECANCELED;
  pid_t netFrom = 0;

  ~AsyncSpawn() {
    if (stack != MAP_FAILED) munmap(stack, kStackSize);
  }
};

// On the session thread: hands onNetwork(pid) to the JS thread and waits for its answer.
int32_t NetworkCall(void* arg, pid_t from) {
  AsyncSpawn* a = static_cast<AsyncSpawn*>(arg);
  if (!a->onNetwork) return ECANCELED;
  {
    std::lock_guard<std::mutex> g(a->m);
    if (a->closing) return ECANCELED;
    a->netFrom = from, a->netAsked = true, a->netAnswered = false, a->netAnswer = ECANCELED;
  }
  if (napi_call_threadsafe_function(a->tsfn, &a->netItem, napi_tsfn_blocking) != napi_ok) return ECANCELED;
  std::unique_lock<std::mutex> g(a->m);
  a->cv.wait(g, [a] { return a->netAnswered || a->closing; });
  a->netAsked = false;
  return a->netAnswered ? a->netAnswer : ECANCELED;
}

// A started child whose result never reached JS (the environment ended first): nobody will
// own it, so it is killed and reaped here. A gated child outlives us, as spawn's does at
// teardown. Idempotent.
void Orphan(AsyncSpawn* a) {
  if (a->proto || !a->ss || a->ss->failed || !a->live || !a->live->valid()) return;
  if (!a->ss->gated) {
    sys::pidfd_send_signal(a->live->get(), SIGKILL);
    WaitReap(a->live->get());
  }
  a->live->reset();
}

// The session thread: the status protocol to its end, then the blocking half of the outcome.
void* SessionMain(void* arg) {
  AsyncSpawn* a = static_cast<AsyncSpawn*>(arg);
  Session& ss = *a->ss;
  ss.Receive();
  if (ss.protoErr) {
    ss.KillAll(a->st.childPidfd.get());
    a->proto = true;
  } else {
    a->st.sock.reset();
    a->st.gatePath.keep = ss.gated && !ss.failed;
    a->live = Settle(ss, a->st.childPidfd, a->st.pid, &a->livePid);
  }
  {
    std::lock_guard<std::mutex> g(a->m);
    a->ended = true;
  }
  napi_threadsafe_function tsfn = a->tsfn;
  if (napi_call_threadsafe_function(tsfn, &a->doneItem, napi_tsfn_blocking) != napi_ok) {
    // The environment is ending: nobody will own the child. Kill and reap it (a gated
    // child outlives us, as spawn's does at teardown).
    Orphan(a);
  }
  napi_release_threadsafe_function(tsfn, napi_tsfn_release);
  return nullptr;
}

// On the JS thread: a MSG_NETWORK call, or the session's end (the result to onDone). With a
// null env the function is being torn down: nothing to do (the finalizer frees).
void CallJs(napi_env env, napi_value, void*, void* data) {
  if (env == nullptr) return;
  Item* item = static_cast<Item*>(data);
  AsyncSpawn* a = item->a;
  if (item->what == kNetwork) {
    pid_t from;
    {
      std::lock_guard<std::mutex> g(a->m);
      from = a->netFrom;
    }
    int32_t answer = ECANCELED;
    napi_value global, fn, argv, ret;
    if (napi_get_global(env, &global) == napi_ok &&
        napi_get_reference_value(env, a->onNetwork, &fn) == napi_ok &&
        napi_create_int32(env, from, &argv) == napi_ok) {
      if (napi_call_function(env, global, fn, 1, &argv, &ret) == napi_ok) {
        int32_t v;
        if (napi_get_value_int32(env, ret, &v) == napi_ok && v >= 0) answer = v;
      } else {
        napi_value ex;
        napi_get_and_clear_last_exception(env, &ex);  // the JS side records its own errors
      }
    }
    std::lock_guard<std::mutex> g(a->m);
    a->netAnswer = answer, a->netAnswered = true;
    a->cv.notify_all();
    return;
  }
  a->delivered = true;
  Napi::Env e(env);
  Napi::Value result =
      a->proto ? ProtocolFailure(e, *a->ss, a->st.pid) : Outcome(e, GetAddon(e), *a->ss, a->live, a->livePid);
  // The session thread is done with `a` (it only releases the function now): whatever the
  // result did not hand to JS is closed before JS hears of it, so a failure leaves nothing.
  a->st.childPidfd.reset();
  a->st.sock.reset();
  a->ss->grandPidfd.reset();
  a->cancel.reset();
  if (a->st.gatePath.path && !a->st.gatePath.keep) unlink(a->st.gatePath.path);  // as spawn's
  a->st.gatePath.path = nullptr;
  napi_value fn;
  if (napi_get_reference_value(env, a->onDone, &fn) != napi_ok) return;
  napi_value argv = result, global, ret;
  napi_get_global(env, &global);
  if (napi_call_function(env, global, fn, 1, &argv, &ret) == napi_pending_exception) {
    napi_value ex;
    napi_get_and_clear_last_exception(env, &ex);
    napi_fatal_exception(env, ex);
  }
}

// The thread-safe function's finalizer (the last release, or the environment's teardown):
// the session ends first — the child is killed if it is still being set up, a waiting
// network call is refused — then the thread is joined and everything freed.
void Finalize(napi_env env, void* data, void*) {
  AsyncSpawn* a = static_cast<AsyncSpawn*>(data);
  {
    std::lock_guard<std::mutex> g(a->m);
    a->closing = true;
    if (!a->ended) {  // the session still runs: its fds are all open
      sys::pidfd_send_signal(a->st.childPidfd.get(), SIGKILL);
      uint64_t one = 1;
      if (write(a->cancel.get(), &one, sizeof one) < 0) {
        // an eventfd's counter cannot overflow from one write: nothing to do
      }
    }
    a->cv.notify_all();
  }
  if (a->threadStarted) pthread_join(a->thread, nullptr);
  // The result was queued but the environment ended before it could be delivered.
  if (a->threadStarted && !a->delivered) Orphan(a);
  // A successful child's pidfd went to JS (Outcome); one never handed over (teardown) was
  // killed and reaped by the thread and is closed with `a`.
  if (env != nullptr) {
    if (a->onNetwork) napi_delete_reference(env, a->onNetwork);
    if (a->onDone) napi_delete_reference(env, a->onDone);
  }
  delete a;
}

// spawnAsync(ops, strings, maps, parent, onNetwork | undefined, onDone): undefined once the
// child is cloned (onDone(result) follows from the loop), or a result at once when nothing
// was cloned (clone3 or the gate failed).
Napi::Value SpawnAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      !info[1].IsBuffer() || !info[5].IsFunction()) {
    ThrowType(env, "ERR_INVALID_ARG_TYPE",
              "spawnAsync(Int32Array, Buffer, object|null, object|undefined, fn|undefined, fn)");
    return env.Undefined();
  }
  auto a = std::make_unique<AsyncSpawn>();
  // Our own copies: the child reads the plan's strings while JS runs (and may collect them).
  Napi::Int32Array ops = info[0].As<Napi::Int32Array>();
  Napi::Buffer<char> strings = info[1].As<Napi::Buffer<char>>();
  a->ops.assign(ops.Data(), ops.Data() + ops.ElementLength());
  a->strings.assign(strings.Data(), strings.Data() + strings.Length());
  if (const char* bad =
          ParsePlan(a->ops.data(), a->ops.size(), a->strings.data(), a->strings.size(), a->plan)) {
    ThrowType(env, "ERR_INVALID_ARG_VALUE", bad);
    return env.Undefined();
  }
  if (!ReadMaps(env, info[2], &a->maps) || !ReadParentSide(env, info[3], &a->parent)) return env.Undefined();
  a->stack =
      mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (a->stack == MAP_FAILED) {
    ThrowSys(env, errno, "mmap");
    return env.Undefined();
  }
  mprotect(a->stack, 4096, PROT_NONE);  // guard page
  a->cancel.reset(eventfd(0, EFD_CLOEXEC));
  if (!a->cancel.valid()) {
    ThrowSys(env, errno, "eventfd");
    return env.Undefined();
  }

  // The callbacks and the thread-safe function first: once a child exists, nothing may fail
  // half-way. From the function on, its finalizer frees `a` and the references.
  AsyncSpawn* raw = a.get();
  napi_value name = Napi::String::New(env, "nsbox.spawnAsync");
  if ((info[4].IsFunction() && napi_create_reference(env, info[4], 1, &raw->onNetwork) != napi_ok) ||
      napi_create_reference(env, info[5], 1, &raw->onDone) != napi_ok ||
      napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, raw, Finalize, nullptr, CallJs,
                                      &raw->tsfn) != napi_ok) {
    if (raw->onNetwork) napi_delete_reference(env, raw->onNetwork);
    if (raw->onDone) napi_delete_reference(env, raw->onDone);
    ThrowSys(env, EAGAIN, "napi_create_threadsafe_function");
    return env.Undefined();
  }
  a.release();  // the finalizer owns it from here
  auto abandon = [&]() {
    napi_release_threadsafe_function(raw->tsfn, napi_tsfn_abort);  // the finalizer frees
  };
  if (int err = StartChild(raw->plan, raw->stack, kStackSize, raw->st)) {
    raw->ended = true;
    Napi::Value r = env.Undefined();
    if (raw->st.failSyscall == nullptr)
      ThrowSys(env, err, "socketpair");
    else
      r = CloneFailure(env, err, raw->st.failStep, raw->st.failSyscall);
    abandon();
    return r;
  }
  raw->ss.reset(new Session{raw->st.sock.get(), raw->st.pid, (int)raw->plan.steps.size(),
                            raw->plan.steps.data(), raw->maps, raw->parent});
  raw->ss->gateStep = raw->st.gateStep;
  raw->ss->wantExitPin = raw->plan.exitPin;
  raw->ss->closer = &GetAddon(env)->closer;  // the Addon outlives the session (joined at teardown)
  raw->ss->netCall = NetworkCall;
  raw->ss->netArg = raw;
  raw->ss->cancelFd = raw->cancel.get();

  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, kThreadStack);
  // The session thread starts with every signal blocked (process-directed signals go to the
  // threads that handle them), as csrc/thread.h's do.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int err = pthread_create(&raw->thread, &attr, SessionMain, raw);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  pthread_attr_destroy(&attr);
  if (err != 0) {
    // No thread: the child must not be left half set up. Kill and reap it; a protocol
    // failure with the thread's error.
    sys::pidfd_send_signal(raw->st.childPidfd.get(), SIGKILL);
    WaitReap(raw->st.childPidfd.get());
    raw->ended = true;
    raw->ss->protoErr = err, raw->ss->protoSyscall = "pthread_create", raw->ss->protoStep = -2;
    Napi::Value r = ProtocolFailure(env, *raw->ss, raw->st.pid);
    abandon();
    return r;
  }
  raw->threadStarted = true;
  return env.Undefined();
}

}  // namespace

void InitSpawnAsync(Napi::Env env, Napi::Object exports) {
  exports.Set("spawnAsync", Napi::Function::New(env, SpawnAsync, "spawnAsync"));
}

}  // namespace nsbox
