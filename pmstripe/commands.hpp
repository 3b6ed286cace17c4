#pragma once

#include "cli/module_cli.hpp"

namespace rk::stripe::module {

using cli::Context;

// BILLmanager's protocol (docs/stripe.md): XML on stdout.
void command_config(Context& ctx);
void command_pmvalidate(Context& ctx);

// Checkout sends the customer back to the panel: without manager_url every
// payment would fail, so saving a method is refused (bad_input naming
// manager_url) until the configuration has it.
void require_manager_url(const Config& config);

// Standalone administration.
void command_method_add(Context& ctx);
void command_method_list(Context& ctx);
void command_method_show(Context& ctx);
void command_payment_add(Context& ctx);

} // namespace rk::stripe::module
