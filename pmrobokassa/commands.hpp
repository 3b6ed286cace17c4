#pragma once

#include "cli/module_cli.hpp"

namespace rk::module {

using cli::Context;

// BILLmanager's protocol (docs/interface.md §3): XML on stdout.
void command_config(Context& ctx);
void command_pmvalidate(Context& ctx);
void command_checkpay(Context& ctx);

// Standalone administration.
void command_method_add(Context& ctx);
void command_method_list(Context& ctx);
void command_method_show(Context& ctx);
void command_payment_add(Context& ctx);
void command_payment_list(Context& ctx);

// The notification journal: journal.list [--payment ID] [--verdict V]
// [--since DATE], newest first; journal.show --entry N with the parameters
// as received.
void command_journal_list(Context& ctx);
void command_journal_show(Context& ctx);

// refund works on the store's own payments: in panel mode (billing =
// panel) BILLmanager keeps them, so it refuses (exit 2) rather than answer
// "no payment" about a payment that exists in the panel. rcpay charges the
// store's payments standalone and the panel's in panel mode.
void require_standalone(const Context& ctx, const char* command);

// Calls to Robokassa on the admin's behalf.
void command_refund(Context& ctx);
void command_rcpay(Context& ctx);
// Panel mode: BILLmanager's refund of a paid payment (XML on stdin).
void command_rfset(Context& ctx);
// checkpay's second part: asks Robokassa about refunds it reported still
// processing; appends one <refund> per refund to `report`.
void follow_up_refunds(Context& ctx, Store& store, std::string& report, int& failures);

} // namespace rk::module
