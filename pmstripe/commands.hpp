#pragma once

#include "cli/module_cli.hpp"

namespace rk::stripe::module {

using cli::Context;

// BILLmanager's protocol (CONTRACT §3, §6): XML on stdout.
void command_config(Context& ctx);
void command_pmvalidate(Context& ctx);

// Standalone administration.
void command_method_add(Context& ctx);
void command_method_list(Context& ctx);
void command_method_show(Context& ctx);
void command_payment_add(Context& ctx);

} // namespace rk::stripe::module
