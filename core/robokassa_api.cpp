#include "robokassa_api.hpp"

#include "error.hpp"
#include "form.hpp"
#include "http_client.hpp"
#include "signature.hpp"

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <sstream>

namespace rk {

namespace pt = boost::property_tree;

std::string op_state_url(const std::string& base_url, const MethodSettings& settings,
                         PaymentId id) {
    const std::string inv_id = std::to_string(id);
    const std::string signature =
        sign(settings.hash_algorithm, settings.shop_id + ":" + inv_id + ":" + settings.password2);
    return base_url + (base_url.find('?') == std::string::npos ? "?" : "&") +
           "MerchantLogin=" + percent_encode(settings.shop_id) + "&InvoiceID=" + inv_id +
           "&Signature=" + signature;
}

OpState parse_op_state(const std::string& xml) {
    pt::ptree tree;
    std::istringstream in(xml);
    try {
        pt::read_xml(in, tree, pt::xml_parser::trim_whitespace);
    } catch (const pt::xml_parser_error&) {
        throw Error(ErrorKind::upstream, "", "OpStateExt answered something that is not XML");
    }
    auto root = tree.get_child_optional("OperationStateResponse");
    if (!root) {
        throw Error(ErrorKind::upstream, "", "OpStateExt answered without OperationStateResponse");
    }
    OpState state;
    try {
        state.result_code = root->get<int>("Result.Code");
        state.result_description = root->get<std::string>("Result.Description", "");
        if (auto code = root->get_optional<int>("State.Code")) {
            state.state = *code;
        }
    } catch (const pt::ptree_error&) {
        throw Error(ErrorKind::upstream, "", "OpStateExt answered without a readable Result.Code");
    }
    state.out_sum = root->get<std::string>("Info.OutSum", "");
    state.op_key = root->get<std::string>("Info.OpKey", "");
    return state;
}

OpState query_op_state(const Config& config, const MethodSettings& settings, PaymentId id) {
    HttpRequest request;
    request.url = op_state_url(config.opstate_url, settings, id);
    request.timeout_seconds = config.http_timeout;
    HttpResponse response = http_request(request);
    if (response.status != 200) {
        throw Error(ErrorKind::upstream, "",
                    "OpStateExt answered HTTP " + std::to_string(response.status));
    }
    return parse_op_state(response.body);
}

} // namespace rk
