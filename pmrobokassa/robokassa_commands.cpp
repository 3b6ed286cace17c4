// Commands that call Robokassa on the admin's behalf: refund and rcpay.
#include "billing/store.hpp"
#include "commands.hpp"
#include "robokassa/recurring.hpp"
#include "robokassa/robokassa_api.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

#include <boost/program_options/variables_map.hpp>
#include <ostream>

namespace rk::module {

namespace {

Payment require_payment(Store& store, const std::string& text, const char* option) {
    auto payment = store.find_payment(parse_payment_id(text, option));
    if (!payment) {
        throw Error(ErrorKind::not_found, option, "no payment " + text);
    }
    return *payment;
}

Method method_of(Store& store, const Payment& payment) {
    auto method = store.find_method(payment.method_id);
    if (!method) {
        throw Error(ErrorKind::internal, "",
                    "payment " + std::to_string(payment.id) + " has no method");
    }
    return *method;
}

// Robokassa's operation key for a paid payment: stored when checkpay saw it,
// else asked of OpStateExt now and kept.
std::string op_key(Context& ctx, Store& store, const Payment& payment,
                   const MethodSettings& settings) {
    if (!payment.external_id.empty()) {
        return payment.external_id;
    }
    OpState state = query_op_state(ctx.config, settings, payment.id);
    if (state.result_code != 0 || state.op_key.empty()) {
        throw Error(ErrorKind::upstream, "",
                    "OpStateExt gave no operation key for payment " + std::to_string(payment.id) +
                        " (result " + std::to_string(state.result_code) + ")");
    }
    sql::Transaction tx(store.db());
    store.set_external_id(tx, payment.id, state.op_key);
    tx.commit();
    return state.op_key;
}

} // namespace

void command_refund(Context& ctx) {
    require_standalone(ctx, "refund");
    Store store = cli::open_store(ctx);
    Payment payment = require_payment(store, cli::required_option(ctx, "payment"), "--payment");
    if (payment.status != PaymentStatus::paid) {
        throw Error(ErrorKind::conflict, "--payment",
                    payment.status == PaymentStatus::refunded
                        ? "is already fully refunded"
                        : "is not paid (status " +
                              std::to_string(static_cast<int>(payment.status)) + ")");
    }
    const Kopecks remaining = payment.amount - payment.refunded;
    Kopecks amount = remaining;
    if (ctx.options.count("amount") != 0) {
        amount = parse_amount(cli::required_option(ctx, "amount"), "--amount");
        if (amount == 0) {
            throw bad_input("--amount", "must be greater than zero");
        }
    }
    // Refused before any call: Robokassa must never be asked for more than
    // was paid and not yet returned.
    if (amount > remaining) {
        throw Error(ErrorKind::conflict, "--amount",
                    "exceeds what remains to refund (" + format_amount(remaining) + ")");
    }
    Method method = method_of(store, payment);
    if (method.settings.password3.empty()) {
        throw bad_input("--payment", "its method has no Password #3, which refunds need");
    }

    RefundRequest request;
    request.op_key = op_key(ctx, store, payment, method.settings);
    request.amount = amount;
    request.item_name =
        payment.description.empty() ? "Payment " + std::to_string(payment.id) : payment.description;
    RefundAnswer answer = create_refund(ctx.config, request, method.settings.password3);

    sql::Transaction tx(store.db());
    store.add_refund(tx, payment.id, amount, "refund");
    Notification note;
    note.source = "refund";
    note.payment_id = payment.id;
    note.params = "RefundSum=" + format_amount(amount) + "&requestId=" + answer.request_id +
                  "&label=" + answer.label;
    note.verdict = "refunded";
    note.reply_status = 200;
    store.record_notification(tx, note);
    tx.commit();
    auto after = store.find_payment(payment.id);
    log::info("payment " + std::to_string(payment.id) + ": refunded " + format_amount(amount) +
              " (request " + answer.request_id + ", " + answer.label + ")");
    ctx.out << answer.request_id << "\n"
            << "refunded " << format_amount(amount) << ", " << answer.label << ", status "
            << static_cast<int>(after->status) << "\n";
}

namespace {

// BILLmanager's rcpay: the panel's payment, charged as its series says.
void panel_rcpay(Context& ctx) {
    if (ctx.options.count("parent") != 0) {
        throw bad_input("--parent", "is not used in panel mode (billing = panel): the panel names "
                                    "the payment's series");
    }
    Store store = cli::open_store(ctx);
    const std::string& text = cli::required_option(ctx, "payment");
    PaymentId id = parse_payment_id(text, "--payment");
    RecurringChargeResult result = charge_panel_payment(ctx.config, store, id);
    switch (result.outcome) {
    case RecurringCharge::charged:
        ctx.out << "OK" << id << "\n";
        break;
    case RecurringCharge::declined:
        // Done as far as the panel goes: the payment is cancelled there.
        ctx.out << "declined: " << result.reason << "\n";
        break;
    case RecurringCharge::already_charged:
        log::info("payment " + text + ": rcpay repeated; Robokassa was asked once already");
        ctx.out << "already charged: " << id << "\n";
        break;
    }
}

} // namespace

void command_rcpay(Context& ctx) {
    if (ctx.config.billing == Config::Billing::panel) {
        panel_rcpay(ctx);
        return;
    }
    Store store = cli::open_store(ctx);
    Payment child = require_payment(store, cli::required_option(ctx, "payment"), "--payment");
    Payment parent = require_payment(store, cli::required_option(ctx, "parent"), "--parent");
    if (child.status != PaymentStatus::created) {
        throw Error(ErrorKind::conflict, "--payment", "must be a new payment (status 1)");
    }
    if (parent.status != PaymentStatus::paid) {
        throw Error(ErrorKind::conflict, "--parent", "must be a paid payment (status 4)");
    }
    if (child.method_id != parent.method_id) {
        throw bad_input("--payment", "must use the same method as its parent");
    }
    if (parent.parent_id) {
        throw bad_input("--parent", "must be the first payment of a series, not a child");
    }
    Method method = method_of(store, parent);
    if (!method.settings.recurring) {
        throw bad_input("--parent", "its method does not have recurring payments enabled");
    }
    {
        sql::Transaction tx(store.db());
        if (store.start_recurring(tx, child.id, parent.id) != Transition::applied) {
            throw Error(ErrorKind::conflict, "--payment", "changed meanwhile; try again");
        }
        tx.commit();
    }
    // The charge's result arrives through rkresult like any payment's; if
    // this call fails the child stays in pay for checkpay to settle.
    RecurringAnswer answer = charge_recurring(ctx.config, method.settings, child, parent.id);
    if (!answer.accepted) {
        throw Error(ErrorKind::upstream, "",
                    "Robokassa refused the recurring charge: " + answer.reason);
    }
    log::info("payment " + std::to_string(child.id) + ": recurring charge of parent " +
              std::to_string(parent.id) + " requested");
    ctx.out << "OK" << child.id << "\n";
}

} // namespace rk::module
