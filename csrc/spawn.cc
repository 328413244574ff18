// placeholder: filled in by its owner
#include "addon.h"
namespace nsbox {
void InitSpawn(Napi::Env, Napi::Object) {}
}  // namespace nsbox
