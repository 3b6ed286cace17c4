#include "robokassa/payment_book.hpp"

#include "cgi/payment_link.hpp"
#include "robokassa/method_store.hpp"
#include "util/config.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/paths.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <boost/property_tree/ptree.hpp>

namespace rk {

namespace pt = boost::property_tree;

namespace {

Error not_a_robokassa_payment(const char* field, PaymentId id) {
    return Error(ErrorKind::not_found, field,
                 "payment " + std::to_string(id) + " is not a Robokassa payment");
}

Error no_payment(const char* field, PaymentId id) {
    return Error(ErrorKind::not_found, field, "no payment " + std::to_string(id));
}

class StoreBook final : public PaymentBook {
public:
    explicit StoreBook(StoreAccess store) : m_store(std::move(store)) {}

    BookedPayment find(PaymentId id, const char* field) override {
        auto payment = m_store().find_payment(id);
        if (!payment) {
            throw no_payment(field, id);
        }
        return with_method(*payment, field);
    }

    BookedPayment find_linked(const CgiRequest& request) override {
        return with_method(linked_payment(request, m_store), "elid");
    }

    Transition mark_in_pay(sql::Transaction& tx, const Payment& payment,
                           const std::string& source) override {
        return m_store().mark_in_pay(tx, payment.id, source);
    }

    Settlement settle_paid(sql::Transaction& tx, const Payment& payment, Kopecks received,
                           const std::string& external_id, const std::string& /*info*/,
                           const std::string& source) override {
        // The journal entry beside it keeps the confirmation itself.
        return rk::settle_paid(m_store(), tx, payment, received, external_id, source);
    }

    Transition mark_cancelled(sql::Transaction& tx, const Payment& payment,
                              const std::string& source) override {
        return m_store().mark_cancelled(tx, payment.id, source);
    }

private:
    BookedPayment with_method(const Payment& payment, const char* field) {
        auto method = find_method(m_store(), payment.method_id);
        if (!method) {
            // Another module's payment (pmstripe): Robokassa cannot pay it.
            throw not_a_robokassa_payment(field, payment.id);
        }
        return {payment, method->settings, std::nullopt, std::nullopt};
    }

    StoreAccess m_store;
};

// A BILLmanager session id as it appears in the panel's cookie and links.
bool is_session_id(const std::string& text) {
    if (text.empty() || text.size() > 128) {
        return false;
    }
    return std::all_of(text.begin(), text.end(), is_ascii_alnum);
}

// The customer's panel session: `auth` in the link, else the panel's own
// cookie (billmgrses5=SESSION or SESSION:suffix), which the browser sends
// because /mancgi/ is served on the panel's host.
std::string panel_session(const CgiRequest& request) {
    if (const std::string* auth = request.find("auth")) {
        return *auth;
    }
    if (auto cookie = cookie_value(request.cookie_header, "billmgrses5")) {
        return cookie->substr(0, cookie->find(':'));
    }
    return "";
}

// whoami as the customer's session: a signed-in user or 403. This is the
// one call that carries the session (in mgrctl's argv: BILLmanager
// documents no other channel, see docs/panel-mode.md).
void check_panel_session(const Mgrctl& mgrctl, const CgiRequest& request) {
    std::string session = panel_session(request);
    if (!is_session_id(session)) {
        throw Error(ErrorKind::forbidden, "auth",
                    "open the payment from the billing panel (no panel session)");
    }
    pt::ptree doc = mgrctl.call("whoami", {{"auth", session}});
    std::string error = error_type(doc);
    if (error.empty() && whoami_names_a_user(doc)) {
        return;
    }
    if (!error.empty() && error != "auth" && error != "access") {
        throw Error(ErrorKind::upstream, "", "whoami: " + error_summary(doc));
    }
    throw Error(ErrorKind::forbidden, "auth", "the panel session is not signed in");
}

class PanelBook final : public PaymentBook {
public:
    PanelBook(Mgrctl mgrctl, StoreAccess store)
        : m_mgrctl(std::move(mgrctl)), m_store(std::move(store)) {}

    BookedPayment find(PaymentId id, const char* field) override {
        pt::ptree doc = m_mgrctl.call("payment.info", {{"elid", std::to_string(id)}});
        std::string error = error_type(doc);
        if (error == "missing") {
            throw no_payment(field, id);
        }
        if (!error.empty()) {
            throw Error(ErrorKind::upstream, "", "payment.info: " + error_summary(doc));
        }
        return parse_payment_info(doc, id, field);
    }

    BookedPayment find_linked(const CgiRequest& request) override {
        PaymentId id = linked_payment_id(request);
        // As BILLmanager's own payment CGIs do: the customer's session is
        // checked on its own (whoami), and the payment is read as the
        // module. A client's session need not see the method's private
        // fields (Password #1 is one), so it never reads the payment.
        check_panel_session(m_mgrctl, request);
        return find(id, "elid");
    }

    Transition mark_in_pay(sql::Transaction& tx, const Payment& payment,
                           const std::string& source) override {
        switch (payment.status) {
        case PaymentStatus::created:
            change("payment.setinpay", {{"elid", std::to_string(payment.id)}});
            log::info("payment " + std::to_string(payment.id) + " in pay (" + source + ")");
            // checkpay asks Robokassa about it if no notification comes.
            m_store().remember_panel_in_pay(tx, payment.id);
            return Transition::applied;
        case PaymentStatus::in_pay:
            // Set in pay by the panel itself or an earlier visit: still
            // checkpay's to ask about.
            m_store().remember_panel_in_pay(tx, payment.id);
            return Transition::already;
        default:
            return Transition::refused;
        }
    }

    Settlement settle_paid(sql::Transaction& tx, const Payment& payment, Kopecks received,
                           const std::string& external_id, const std::string& info,
                           const std::string& source) override {
        if (received != payment.amount) {
            return Settlement::amount_mismatch;
        }
        Settlement settlement = Settlement::not_payable;
        switch (payment.status) {
        case PaymentStatus::paid:
        case PaymentStatus::refunded:
            settlement = Settlement::duplicate;
            break;
        case PaymentStatus::created:
        case PaymentStatus::in_pay:
            // Robokassa names an operation by shop and InvId (= our elid)
            // unless an OpKey is known.
            change(
                "payment.setpaid",
                {{"elid", std::to_string(payment.id)},
                 {"info", source + ": " + info},
                 {"externalid", external_id.empty() ? std::to_string(payment.id) : external_id}});
            settlement = Settlement::credited;
            break;
        default:
            break;
        }
        m_store().forget_panel_in_pay(tx, payment.id);
        if (settlement == Settlement::credited ||
            (settlement == Settlement::duplicate && payment.status == PaymentStatus::paid)) {
            save_series_token(tx, payment.id);
        }
        return settlement;
    }

    Transition mark_cancelled(sql::Transaction& tx, const Payment& payment,
                              const std::string& source) override {
        Transition transition = Transition::refused;
        switch (payment.status) {
        case PaymentStatus::created:
        case PaymentStatus::in_pay:
            change("payment.setcanceled", {{"elid", std::to_string(payment.id)}, {"info", source}});
            transition = Transition::applied;
            break;
        case PaymentStatus::cancelled:
            transition = Transition::already;
            break;
        default:
            break;
        }
        m_store().forget_panel_in_pay(tx, payment.id);
        return transition;
    }

private:
    // The first payment of an auto-payment series is paid: its InvId is the
    // token Robokassa charges the series by, saved in the panel now (and on
    // a repeat of the notification, if the panel did not take it before).
    void save_series_token(sql::Transaction& tx, PaymentId first) {
        auto series = m_store().unsaved_recurring_setup(tx, first);
        if (!series) {
            return;
        }
        // status 1: the series is active (bill_util.php's rsActive).
        change(
            "payment.recurring.saveinfo",
            {{"elid", std::to_string(*series)}, {"status", "1"}, {"token", std::to_string(first)}});
        m_store().mark_recurring_saved(tx, first);
        log::info("payment " + std::to_string(first) + " starts auto-payment series " +
                  std::to_string(*series));
    }

    // A status change: anything but a clean answer is a failure the caller
    // must not report as done (rkresult answers 502, Robokassa retries).
    void change(const char* function, const Mgrctl::Params& params) {
        pt::ptree doc = m_mgrctl.call(function, params);
        if (!error_type(doc).empty()) {
            throw Error(ErrorKind::upstream, "", std::string(function) + ": " + error_summary(doc));
        }
    }

    Mgrctl m_mgrctl;
    StoreAccess m_store;
};

} // namespace

namespace {

// payment.info repeats some names: the first <paymethod> and <currency> are
// ids, the second carry the method's fields and the currency's details
// (BILLmanager's PHP modules read them as paymethod[1] and currency[1]).
// The one with child elements is the one we want.
const pt::ptree* detailed_child(const pt::ptree& node, const std::string& name) {
    const pt::ptree* found = nullptr;
    for (const auto& [key, child] : node) {
        if (key == name && !child.empty()) {
            found = &child;
        }
    }
    return found;
}

// A URL the return pages may send a browser to: http(s), printable ASCII,
// nothing that could end a header or start a second query.
bool is_usable_manager_url(const std::string& url) {
    if (url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0) {
        return false;
    }
    if (url.size() > 512) {
        return false;
    }
    return std::all_of(url.begin(), url.end(), [](char c) {
        return c > ' ' && c < 0x7f && c != '?' && c != '#' && c != '"' && c != '<' && c != '>';
    });
}

} // namespace

BookedPayment parse_payment_info(const pt::ptree& doc, PaymentId id, const char* field) {
    auto node = doc.get_child_optional("payment");
    if (!node) {
        throw Error(ErrorKind::upstream, "", "payment.info answered without <payment>");
    }
    const pt::ptree* method = detailed_child(*node, "paymethod");
    if (method == nullptr) {
        throw Error(ErrorKind::upstream, "", "payment.info answered without the method's fields");
    }
    if (method->get<std::string>("module", "pmrobokassa") != "pmrobokassa") {
        throw not_a_robokassa_payment(field, id);
    }
    BookedPayment booked;
    Payment& payment = booked.payment;
    try {
        payment.id = parse_payment_id(node->get<std::string>("id"), "id");
        payment.status = static_cast<PaymentStatus>(node->get<int>("status"));
        payment.amount = parse_amount(node->get<std::string>("paymethodamount"), "paymethodamount");
    } catch (const pt::ptree_error&) {
        throw Error(ErrorKind::upstream, "", "payment.info lacks id, status or paymethodamount");
    } catch (const Error& e) {
        throw Error(ErrorKind::upstream, "", "payment.info: " + e.describe());
    }
    if (payment.id != id) {
        throw Error(ErrorKind::upstream, "",
                    "payment.info answered about payment " + std::to_string(payment.id));
    }
    // The currency decides whether Robokassa can charge it at all: absent is
    // a broken answer, never a guess of roubles.
    const pt::ptree* currency = detailed_child(*node, "currency");
    auto iso = currency != nullptr ? currency->get_optional<std::string>("iso") : boost::none;
    if (!iso || iso->empty()) {
        throw Error(ErrorKind::upstream, "", "payment.info answered without the currency's iso");
    }
    payment.currency = *iso;
    if (auto url = node->get_optional<std::string>("manager_url"); url && !url->empty()) {
        if (!is_usable_manager_url(*url)) {
            throw Error(ErrorKind::upstream, "",
                        "payment.info's manager_url is not an http(s) URL");
        }
        booked.manager_url = *url;
    }
    if (auto series = node->get_optional<std::string>("recurring");
        series && !series->empty() && *series != "0") {
        try {
            booked.recurring_id = parse_payment_id(*series, "recurring");
        } catch (const Error&) {
            throw Error(ErrorKind::upstream, "", "payment.info's recurring is not an id");
        }
    }
    payment.description = node->get<std::string>("description", "");
    payment.email = node->get<std::string>("useremail", "");

    MethodFields fields;
    for (const char* name : k_method_fields) {
        if (auto value = method->get_optional<std::string>(name)) {
            fields[name] = *value;
        }
    }
    try {
        booked.settings = parse_method_settings(fields);
    } catch (const Error& e) {
        // The panel holds a method pmvalidate would refuse: ours to fix, not
        // the sender's, so a server error (Robokassa retries meanwhile).
        throw Error(ErrorKind::upstream, "",
                    "the panel's Robokassa method is not valid: " + e.describe());
    }
    return booked;
}

bool whoami_names_a_user(const pt::ptree& doc) {
    auto user = doc.get_child_optional("user");
    if (!user) {
        return false;
    }
    std::string id = user->get<std::string>("<xmlattr>.id", "");
    return !id.empty() &&
           std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
}

namespace {

// The <elem> rows of a list answer.
template <typename Visit>
void for_each_elem(const pt::ptree& doc, Visit visit) {
    for (const auto& [key, elem] : doc) {
        if (key == "elem") {
            visit(elem);
        }
    }
}

} // namespace

std::vector<std::int64_t> robokassa_method_ids(const pt::ptree& doc) {
    std::vector<std::int64_t> ids;
    for_each_elem(doc, [&ids](const pt::ptree& elem) {
        if (elem.get<std::string>("module", "") == "pmrobokassa") {
            ids.push_back(parse_payment_id(elem.get<std::string>("id", ""), "paymethod id"));
        }
    });
    return ids;
}

std::vector<PaymentId> listed_payment_ids(const pt::ptree& doc) {
    std::vector<PaymentId> ids;
    for_each_elem(doc, [&ids](const pt::ptree& elem) {
        ids.push_back(parse_payment_id(elem.get<std::string>("id", ""), "payment id"));
    });
    return ids;
}

Mgrctl panel_mgrctl(const Config& config) {
    return Mgrctl(config.mgrctl.empty() ? mgr5_root() + "/sbin/mgrctl" : config.mgrctl,
                  config.mgrctl_timeout);
}

void require_panel_session(const Config& config, const CgiRequest& request) {
    check_panel_session(panel_mgrctl(config), request);
}

namespace {

pt::ptree listing(const Mgrctl& mgrctl, const char* function, const Mgrctl::Params& params) {
    pt::ptree doc = mgrctl.call(function, params);
    if (!error_type(doc).empty()) {
        throw Error(ErrorKind::upstream, "", std::string(function) + ": " + error_summary(doc));
    }
    return doc;
}

} // namespace

std::vector<PaymentId> panel_payments_in_pay(const Config& config) {
    Mgrctl mgrctl = panel_mgrctl(config);
    std::vector<PaymentId> ids;
    try {
        std::vector<std::int64_t> methods = robokassa_method_ids(listing(mgrctl, "paymethod", {}));
        if (methods.empty()) {
            log::warning("checkpay: the panel lists no payment method of module pmrobokassa");
        }
        for (std::int64_t method : methods) {
            // The filter of BILLmanager's payment list; payment.info then
            // confirms the module and status of each before anything is asked.
            pt::ptree doc =
                listing(mgrctl, "payment",
                        {{"filter", "on"}, {"status", "2"}, {"paymethod", std::to_string(method)}});
            for (PaymentId id : listed_payment_ids(doc)) {
                ids.push_back(id);
            }
        }
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::upstream) {
            throw;
        }
        throw Error(ErrorKind::upstream, "", "the panel's list is unusable: " + e.describe());
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
}

bool robokassa_can_charge(const Payment& payment) {
    return payment.currency == "RUB";
}

void require_rouble_payment(const Payment& payment, const std::string& who) {
    if (robokassa_can_charge(payment)) {
        return;
    }
    // The admin must see it: a method of this module in another currency
    // can never be paid through Robokassa.
    log::error(who + ": payment " + std::to_string(payment.id) + " is in " +
               xml_safe(payment.currency.substr(0, 16)) +
               "; Robokassa charges roubles only: no form is sent and nothing is credited");
    throw Error(ErrorKind::conflict, "currency",
                "Robokassa charges roubles only; this payment is in " +
                    xml_safe(payment.currency.substr(0, 16)));
}

std::unique_ptr<PaymentBook> store_book(StoreAccess store) {
    return std::make_unique<StoreBook>(std::move(store));
}

std::unique_ptr<PaymentBook> panel_book(const Config& config, StoreAccess store) {
    return std::make_unique<PanelBook>(panel_mgrctl(config), std::move(store));
}

std::unique_ptr<PaymentBook> open_book(const Config& config, StoreAccess store) {
    return config.billing == Config::Billing::panel ? panel_book(config, std::move(store))
                                                    : store_book(std::move(store));
}

} // namespace rk
