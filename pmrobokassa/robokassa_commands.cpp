// Commands that call Robokassa on the admin's behalf: refund and rcpay.
#include "billing/store.hpp"
#include "commands.hpp"
#include "robokassa/method_store.hpp"
#include "robokassa/payment_book.hpp"
#include "robokassa/receipt.hpp"
#include "robokassa/recurring.hpp"
#include "robokassa/robokassa_api.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/text.hpp"
#include "util/xml_input.hpp"

#include <boost/program_options/variables_map.hpp>
#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
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
    auto method = find_method(store, payment.method_id);
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
        request.receipt = payment.receipt;
        request.paid = payment.amount;
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

namespace {

// BILLmanager's refund request on stdin: the paid payment it refunds and
// the amount, negative as the panel writes a refund.
struct PanelRefund {
    PaymentId source = 0;
    Kopecks amount = 0;
};

PanelRefund read_panel_refund(std::istream& in) {
    namespace pt = boost::property_tree;
    pt::ptree doc;
    try {
        doc = parse_xml(cli::read_limited(in, "stdin"), pt::xml_parser::trim_whitespace)
                  .get_child("doc");
    } catch (const pt::ptree_error& e) {
        throw bad_input("stdin", std::string("not BILLmanager's <doc>: ") + e.what());
    }
    PanelRefund refund;
    refund.source = parse_payment_id(doc.get<std::string>("source_payment", ""), "source_payment");
    std::string amount = doc.get<std::string>("payment_paymethodamount", "");
    if (!amount.empty() && amount[0] == '-') {
        amount.erase(0, 1);
    }
    refund.amount = parse_amount(amount, "payment_paymethodamount");
    if (refund.amount == 0) {
        throw bad_input("payment_paymethodamount", "must not be zero");
    }
    return refund;
}

// Robokassa's operation key for a panel payment, from OpStateExt.
std::string panel_op_key(const Config& config, const MethodSettings& settings, PaymentId id) {
    OpState state = query_op_state(config, settings, id);
    if (state.result_code != 0 || state.op_key.empty()) {
        throw Error(ErrorKind::upstream, "",
                    "OpStateExt gave no operation key for payment " + std::to_string(id) +
                        " (result " + std::to_string(state.result_code) + ")");
    }
    return state.op_key;
}

RefundState refund_state_of(const std::string& label) {
    if (label == "finished") {
        return RefundState::done;
    }
    return label == "canceled" ? RefundState::cancelled : RefundState::processing;
}

void record_refund_note(Store& store, sql::Transaction& tx, const std::string& source, PaymentId id,
                        const std::string& request_id, const std::string& verdict) {
    Notification note;
    note.source = source;
    note.payment_id = id;
    note.params = "requestId=" + request_id;
    note.verdict = verdict;
    note.reply_status = 200;
    store.record_notification(tx, note);
}

void rfset(Context& ctx) {
    if (ctx.config.billing != Config::Billing::panel) {
        throw Error(ErrorKind::conflict, "billing",
                    "rfset is BILLmanager's refund (panel mode); use refund --payment");
    }
    const PanelRefund refund = read_panel_refund(ctx.in);
    Store store = cli::open_store(ctx);
    std::unique_ptr<PaymentBook> book =
        panel_book(ctx.config, [&store]() -> Store& { return store; });
    const BookedPayment booked = book->find(refund.source, "source_payment");
    const Payment& payment = booked.payment;
    if (payment.status != PaymentStatus::paid) {
        throw Error(ErrorKind::conflict, "source_payment",
                    "is not paid (status " + std::to_string(static_cast<int>(payment.status)) +
                        ")");
    }
    if (booked.settings.password3.empty()) {
        throw bad_input("source_payment", "its method has no Password #3, which refunds need");
    }
    // The same rule as `refund`: reserved before any call.
    RefundId reservation = 0;
    {
        sql::Transaction tx(store.db());
        reservation = store.reserve_refund(tx, payment.id, payment.amount, refund.amount, "rfset",
                                           "payment_paymethodamount");
        tx.commit();
    }
    RefundAnswer answer;
    try {
        RefundRequest request;
        request.op_key = panel_op_key(ctx.config, booked.settings, payment.id);
        request.amount = refund.amount;
        request.item_name = payment.description.empty() ? "Payment " + std::to_string(payment.id)
                                                        : payment.description;
        // The receipt rkpayment sent for it, rebuilt from the same method
        // settings: the refund's receipt mirrors its line and VAT rate.
        request.receipt = receipt_from_settings(payment, booked.settings);
        request.paid = payment.amount;
        answer = create_refund(ctx.config, request, booked.settings.password3);
    } catch (...) {
        sql::Transaction tx(store.db());
        store.release_refund(tx, reservation);
        tx.commit();
        throw;
    }
    const RefundState state = refund_state_of(answer.label);
    sql::Transaction tx(store.db());
    store.settle_refund(tx, reservation, state, answer.request_id);
    record_refund_note(store, tx, "rfset", payment.id, answer.request_id, to_string(state));
    tx.commit();
    if (state == RefundState::cancelled) {
        throw Error(ErrorKind::upstream, "", "Robokassa cancelled refund " + answer.request_id);
    }
    log::info("payment " + std::to_string(payment.id) + ": refund of " +
              format_amount(refund.amount) + " " + to_string(state) + " (request " +
              answer.request_id + ")");
    ctx.out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<doc><ok/></doc>\n";
}

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

void command_rfset(Context& ctx) {
    try {
        rfset(ctx);
    } catch (const Error& e) {
        // BILLmanager reads the answer on stdout; the exit status and the
        // log line still say it failed.
        cli::write_error_doc(ctx.out, e);
        throw;
    }
}

void follow_up_refunds(Context& ctx, Store& store, std::string& report, int& failures) {
    for (const Refund& refund : store.list_refunds(RefundState::processing)) {
        const std::string id_text = std::to_string(refund.payment_id);
        try {
            const RefundState state = refund_state_of(refund_state(ctx.config, refund.request_id));
            if (state != RefundState::processing) {
                sql::Transaction tx(store.db());
                store.settle_refund(tx, refund.id, state, refund.request_id);
                record_refund_note(store, tx, "checkpay", refund.payment_id, refund.request_id,
                                   std::string("refund_") + to_string(state));
                tx.commit();
            }
            if (state == RefundState::cancelled) {
                // The panel counts it refunded: a person must look.
                log::error("checkpay: Robokassa cancelled refund " + refund.request_id +
                           " of payment " + id_text + " (" + format_amount(refund.amount) + ")");
            }
            report += "<refund payment=\"" + id_text + "\" request=\"" +
                      escape_markup(refund.request_id) + "\" result=\"" + to_string(state) + "\"/>";
        } catch (const Error& e) {
            ++failures;
            log::error("checkpay: refund " + refund.request_id + ": " + e.describe());
            report += "<refund payment=\"" + id_text + "\" error=\"" +
                      escape_markup(xml_safe(e.describe())) + "\"/>";
        }
    }
}

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
