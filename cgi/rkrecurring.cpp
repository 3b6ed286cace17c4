// rkrecurring: BILLmanager's recurring_script (panel mode). Parse, decide,
// store and reply live in the core.
#include "robokassa/recurring.hpp"

int main() {
    return rk::run_cgi("rkrecurring", rk::handle_recurring, rk::ErrorStyle::html);
}
