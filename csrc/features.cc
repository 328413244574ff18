// placeholder: filled in by its owner
#include "addon.h"
namespace nsbox {
void InitFeatures(Napi::Env, Napi::Object) {}
}  // namespace nsbox
