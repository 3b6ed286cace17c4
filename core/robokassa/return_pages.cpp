#include "robokassa/return_pages.hpp"

#include "cgi/pages.hpp"
#include "robokassa/payment_book.hpp"
#include "robokassa/signature.hpp"
#include "util/log.hpp"

namespace rk {

namespace {

// The panel's page for `func`. Built only from the panel's payment.info,
// the configuration and the numeric id, so no parameter of the request can
// steer the customer elsewhere.
std::string panel_url(const std::string& manager_url, const char* func, PaymentId id) {
    return manager_url + "?func=" + func + "&elid=" + std::to_string(id);
}

// The panel's own manager_url (panel mode) first, the configuration's only
// when the panel gives none.
Reply landing(const Config& config, const std::optional<std::string>& panel_manager_url,
              Language language, const char* func, PaymentId id, Text title, Text message) {
    const std::optional<std::string>& manager_url =
        panel_manager_url ? panel_manager_url : config.manager_url;
    if (manager_url) {
        return redirect_reply(panel_url(*manager_url, func, id));
    }
    Page page;
    page.language = language;
    page.title = text(language, title);
    page.body_html = std::string("<p>") + text(language, message) + "</p>\n";
    return html_reply(200, page);
}

} // namespace

Reply handle_success(const CgiInput& input, CgiContext& context) {
    CgiRequest request = parse_cgi_request(input);
    Language language =
        choose_language(request.find("Culture"), request.cookie_header, request.accept_language);
    const std::string& out_sum = request.require("OutSum");
    const std::string& inv_id = request.require("InvId");
    const std::string& given = request.require("SignatureValue");
    PaymentId id = parse_payment_id(inv_id, "InvId");

    const BookedPayment booked =
        open_book(context.config(), context.store_access())->find(id, "InvId");
    const MethodSettings& settings = booked.settings;
    ShpParams shp = collect_shp(request.params);
    bool signed_ok =
        verify_signature(settings.hash_algorithm, given, shp, [&](const ShpParams& order) {
            return success_signature_base(out_sum, inv_id, signing_password1(settings), order);
        });
    if (!signed_ok) {
        throw bad_input("SignatureValue", "does not match (Password #1)");
    }
    log::info("payment " + inv_id + ": customer returned from the gateway (success)");
    return landing(context.config(), booked.manager_url, language, "payment.success", id,
                   Text::success_title, Text::success);
}

Reply handle_fail(const CgiInput& input, CgiContext& context) {
    CgiRequest request = parse_cgi_request(input);
    Language language =
        choose_language(request.find("Culture"), request.cookie_header, request.accept_language);
    PaymentId id = parse_payment_id(request.require("InvId"), "InvId");
    log::info("payment " + std::to_string(id) + ": customer returned from the gateway (fail)");
    // In panel mode the panel names its own URL; the unsigned return only
    // picks which payment's page, never where.
    std::optional<std::string> panel_manager_url;
    if (context.config().billing == Config::Billing::panel) {
        panel_manager_url =
            open_book(context.config(), context.store_access())->find(id, "InvId").manager_url;
    }
    return landing(context.config(), panel_manager_url, language, "payment.fail", id,
                   Text::fail_title, Text::fail);
}

} // namespace rk
