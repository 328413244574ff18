// placeholder: filled in by its owner
#include "addon.h"
namespace nsbox {
void InitPidfd(Napi::Env, Napi::Object) {}
}  // namespace nsbox
