// Commands that call Robokassa on the admin's behalf: refund and rcpay.
#include "commands.hpp"
#include "error.hpp"
#include "log.hpp"
#include "robokassa_api.hpp"
#include "store.hpp"

#include <boost/program_options/variables_map.hpp>
#include <optional>
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

namespace {

Error not_refundable(const Payment& payment) {
    return Error(ErrorKind::conflict, "--payment",
                 payment.status == PaymentStatus::refunded
                     ? "is already fully refunded"
                     : "is not paid (status " + std::to_string(static_cast<int>(payment.status)) +
                           ")");
}

} // namespace

void command_refund(Context& ctx) {
    require_standalone(ctx, "refund");
    Store store = cli::open_store(ctx);
    const Payment payment =
        require_payment(store, cli::required_option(ctx, "payment"), "--payment");
    std::optional<Kopecks> asked;
    if (ctx.options.count("amount") != 0) {
        asked = parse_amount(cli::required_option(ctx, "amount"), "--amount");
        if (*asked == 0) {
            throw bad_input("--amount", "must be greater than zero");
        }
    }
    if (payment.status != PaymentStatus::paid) {
        throw not_refundable(payment);
    }
    Method method = method_of(store, payment);
    if (method.settings.password3.empty()) {
        throw bad_input("--payment", "its method has no Password #3, which refunds need");
    }

    // Reserved before any call: Robokassa is never asked for more than was
    // paid and is not yet refunded or being refunded, even by two refunds
    // at once (the second waits for the lock, then sees the first's share).
    Kopecks amount = 0;
    RefundId reservation = 0;
    {
        sql::Transaction tx(store.db());
        const Payment current = *store.find_payment(payment.id);
        if (current.status != PaymentStatus::paid) {
            throw not_refundable(current);
        }
        const Kopecks remaining = store.refund_remaining(current.id, current.amount);
        if (!asked && remaining == 0) {
            throw Error(ErrorKind::conflict, "--payment",
                        "has nothing left to refund (another refund took it)");
        }
        amount = asked.value_or(remaining);
        reservation = store.reserve_refund(tx, current.id, current.amount, amount, "refund",
                                           asked ? "--amount" : "--payment");
        tx.commit();
    }

    RefundAnswer answer;
    try {
        RefundRequest request;
        request.op_key = op_key(ctx, store, payment, method.settings);
        request.amount = amount;
        request.item_name = payment.description.empty() ? "Payment " + std::to_string(payment.id)
                                                        : payment.description;
        answer = create_refund(ctx.config, request, method.settings.password3);
    } catch (...) {
        // Not refunded: the amount is free again.
        sql::Transaction tx(store.db());
        store.release_refund(tx, reservation);
        tx.commit();
        throw;
    }

    sql::Transaction tx(store.db());
    store.settle_refund(tx, reservation, RefundState::done, answer.request_id);
    if (store.add_refund(tx, payment.id, amount, "refund") != Transition::applied) {
        // The reservation makes this unreachable; if it is reached, the
        // money left at Robokassa and the ledger disagrees: a person must look.
        log::error("payment " + std::to_string(payment.id) + ": refunded " + format_amount(amount) +
                   " at Robokassa (request " + answer.request_id +
                   ") but the ledger refused to record it");
        throw Error(ErrorKind::conflict, "--payment",
                    "changed while being refunded; refund request " + answer.request_id +
                        " must be checked by hand");
    }
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

void command_rcpay(Context& ctx) {
    require_standalone(ctx, "rcpay");
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
    charge_recurring(ctx.config, method.settings, child, parent.id);
    log::info("payment " + std::to_string(child.id) + ": recurring charge of parent " +
              std::to_string(parent.id) + " requested");
    ctx.out << "OK" << child.id << "\n";
}

} // namespace rk::module
