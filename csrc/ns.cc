// placeholder: filled in by its owner
#include "addon.h"
namespace nsbox {
void InitNs(Napi::Env, Napi::Object) {}
}  // namespace nsbox
