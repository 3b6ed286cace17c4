// checkpay: asks Robokassa's OpStateExt about payments stuck in status 2.
#include "commands.hpp"
#include "error.hpp"

namespace rk::module {

void command_checkpay(Context&) {
    throw Error(ErrorKind::internal, "", "checkpay is not built yet");
}

} // namespace rk::module
