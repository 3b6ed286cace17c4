// The commands BILLmanager itself runs: config, pmvalidate, checkpay.
#include "commands.hpp"
#include "error.hpp"
#include "log.hpp"
#include "method_settings.hpp"
#include "text.hpp"

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <ostream>

namespace rk::module {

namespace pt = boost::property_tree;

namespace {

const char* const k_method_fields[] = {"shop_id",   "password1",      "password2",
                                       "password3", "hash_algorithm", "test_mode",
                                       "recurring", "inc_curr_label", "gateway_url"};

} // namespace

void command_config(Context& ctx) {
    ctx.out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<doc>"
               "<feature>"
               "<redirect>on</redirect>"
               "<notneedprofile>on</notneedprofile>"
               "<pmvalidate>on</pmvalidate>"
               "<checkpay>on</checkpay>"
               "<refund>on</refund>"
               "<recurring>on</recurring>"
               "</feature>"
               "<param><payment_script>/mancgi/rkpayment</payment_script></param>"
               "</doc>\n";
}

void command_pmvalidate(Context& ctx) {
    pt::ptree tree;
    try {
        pt::read_xml(ctx.in, tree);
    } catch (const pt::xml_parser_error& e) {
        throw Error(ErrorKind::internal, "", std::string("unreadable XML on stdin: ") + e.what());
    }
    const auto doc = tree.get_child_optional("doc");
    if (!doc) {
        throw Error(ErrorKind::internal, "", "the XML on stdin has no <doc> element");
    }
    MethodFields fields;
    for (const char* name : k_method_fields) {
        if (auto value = doc->get_optional<std::string>(name)) {
            fields[name] = *value;
        }
    }
    try {
        parse_method_settings(fields);
    } catch (const Error& e) {
        log::info(std::string("pmvalidate refused ") + e.describe());
        ctx.out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                << "<doc><error type=\"value\" object=\"" << escape_markup(e.field())
                << "\"><param name=\"object\" type=\"msg\">" << escape_markup(e.field())
                << "</param><msg>" << escape_markup(xml_safe(e.describe()))
                << "</msg></error></doc>\n";
        return;
    }
    pt::write_xml(ctx.out, tree);
    ctx.out << "\n";
}

} // namespace rk::module
