#include "cli/module_cli.hpp"

#include "util/error.hpp"
#include "util/log.hpp"
#include "util/text.hpp"
#include "util/url.hpp"
#include "util/xml_input.hpp"

#include <boost/program_options.hpp>
#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <ctime>
#include <fstream>
#include <iostream>

namespace rk::cli {

namespace po = boost::program_options;

std::string iso_time(std::int64_t unix_time) {
    std::time_t tt = static_cast<std::time_t>(unix_time);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    (void)std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm); // 21 bytes always fit
    return buf;
}

const std::string* option(const Context& ctx, const char* name) {
    auto it = ctx.options.find(name);
    return it == ctx.options.end() ? nullptr : &it->second.as<std::string>();
}

const std::string& required_option(const Context& ctx, const char* name) {
    const std::string* value = option(ctx, name);
    if (value == nullptr) {
        throw bad_input(std::string("--") + name, "is required");
    }
    return *value;
}

bool flag(const Context& ctx, const char* name) {
    auto it = ctx.options.find(name);
    return it != ctx.options.end() && it->second.as<bool>();
}

const std::string& method_name_option(const Context& ctx) {
    const std::string& name = required_option(ctx, "name");
    if (name.empty() || name.size() > 128 || !is_valid_utf8(name) || has_control_chars(name)) {
        throw bad_input("--name",
                        "must be 1 to 128 bytes of UTF-8 text without control characters");
    }
    return name;
}

std::string callback_origin(const Config& config) {
    return config.manager_url ? url_origin(*config.manager_url) : "https://<billing host>";
}

PaymentId add_payment(Store& store, const NewPayment& payment) {
    return validate_options({}, {{"id", "id"}, {"method", "method"}},
                            [&](const auto&) { return store.add_payment(payment); });
}

std::map<std::string, std::string> fields_from_options(const Context& ctx,
                                                       const OptionFields& mapping) {
    std::map<std::string, std::string> fields;
    for (const auto& [opt, field] : mapping) {
        if (const std::string* value = option(ctx, opt)) {
            fields[field] = *value;
        }
    }
    return fields;
}

void run_pmvalidate(
    Context& ctx, const std::vector<const char*>& names,
    const std::function<void(const std::map<std::string, std::string>&)>& validate) {
    run_pmvalidate_noting(ctx, names, [&validate](const std::map<std::string, std::string>& f) {
        validate(f);
        return std::string();
    });
}

void run_pmvalidate_noting(
    Context& ctx, const std::vector<const char*>& names,
    const std::function<std::string(const std::map<std::string, std::string>&)>& validate) {
    namespace pt = boost::property_tree;
    pt::ptree tree;
    const std::string text = read_limited(ctx.in, "stdin");
    try {
        tree = parse_xml(text);
    } catch (const pt::xml_parser_error& e) {
        throw bad_input("stdin", std::string("unreadable XML: ") + e.message());
    }
    const auto doc = tree.get_child_optional("doc");
    if (!doc) {
        throw bad_input("stdin", "the XML has no <doc> element");
    }
    std::map<std::string, std::string> fields;
    for (const char* name : names) {
        if (auto value = doc->get_optional<std::string>(name)) {
            fields[name] = *value;
        }
    }
    std::string note;
    try {
        note = validate(fields);
    } catch (const Error& e) {
        log::info("pmvalidate refused " + e.describe());
        write_error_doc(ctx.out, e);
        return;
    }
    if (!note.empty()) {
        pt::ptree& check = tree.get_child("doc").add("credentials_check", xml_safe(note));
        check.put("<xmlattr>.status", "not_checked");
    }
    pt::write_xml(ctx.out, tree);
    ctx.out << "\n";
}

void write_error_doc(std::ostream& out, const Error& e) {
    out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        << "<doc><error type=\"value\" object=\"" << escape_markup(e.field())
        << "\"><param name=\"object\" type=\"msg\">" << escape_markup(e.field()) << "</param><msg>"
        << escape_markup(xml_safe(e.describe())) << "</msg></error></doc>\n";
}

std::string read_limited(std::istream& in, const std::string& field) {
    std::string text;
    char buffer[65536];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
        text.append(buffer, static_cast<std::size_t>(in.gcount()));
        if (text.size() > k_max_input_bytes) {
            throw Error(ErrorKind::too_large, field, "is over 1 MiB");
        }
    }
    return text;
}

std::string read_file_limited(const std::string& path, const std::string& field) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw bad_input(field, "cannot read " + path);
    }
    std::string text = read_limited(in, field);
    if (in.bad()) {
        throw bad_input(field, "cannot read " + path);
    }
    return text;
}

Store open_store(const Context& ctx) {
    return Store::open_default(sql::OpenMode::create_if_missing, ctx.config.busy_timeout_ms);
}

NewPayment read_new_payment(const Context& ctx) {
    NewPayment p;
    p.amount = parse_amount(required_option(ctx, "amount"), "--amount");
    if (p.amount == 0) {
        throw bad_input("--amount", "must be greater than zero");
    }
    if (const std::string* currency = option(ctx, "currency")) {
        bool ok = currency->size() == 3;
        for (char c : *currency) {
            ok = ok && c >= 'A' && c <= 'Z';
        }
        if (!ok) {
            throw bad_input("--currency", "must be three capital letters, e.g. RUB");
        }
        p.currency = *currency;
    }
    if (const std::string* description = option(ctx, "description")) {
        if (!is_valid_utf8(*description) || has_control_chars(*description) ||
            utf8_length(*description) > 100) {
            throw bad_input("--description",
                            "must be at most 100 characters of UTF-8 text without control "
                            "characters");
        }
        p.description = *description;
    }
    if (const std::string* email = option(ctx, "email")) {
        std::size_t at = email->find('@');
        bool ok = email->size() <= 254 && at != std::string::npos && at > 0 &&
                  at + 1 < email->size() && email->find('@', at + 1) == std::string::npos;
        for (char c : *email) {
            ok = ok && c > 0x20 && c < 0x7f && c != '<' && c != '>' && c != '"';
        }
        if (!ok) {
            throw bad_input("--email", "must be an e-mail address such as user@example.com");
        }
        p.email = *email;
    }
    if (const std::string* id = option(ctx, "id")) {
        p.id = parse_payment_id(*id, "--id");
    }
    return p;
}

void command_payment_show(Context& ctx) {
    Store store = open_store(ctx);
    const std::string& text = required_option(ctx, "payment");
    auto payment = store.find_payment(parse_payment_id(text, "--payment"));
    if (!payment) {
        throw Error(ErrorKind::not_found, "--payment", "no payment " + text);
    }
    const Payment& p = *payment;
    std::ostream& out = ctx.out;
    out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<doc><payment>"
        << "<id>" << p.id << "</id>"
        << "<status>" << static_cast<int>(p.status) << "</status>"
        << "<amount>" << format_amount(p.amount) << "</amount>"
        << "<currency>" << escape_markup(p.currency) << "</currency>"
        << "<method>" << p.method_id << "</method>"
        << "<module>" << escape_markup(store.method_module(p.method_id).value_or("")) << "</module>"
        << "<description>" << escape_markup(xml_safe(p.description)) << "</description>"
        << "<email>" << escape_markup(p.email) << "</email>"
        << "<external_id>" << escape_markup(xml_safe(p.external_id)) << "</external_id>"
        << "<refunded>" << format_amount(p.refunded) << "</refunded>"
        << "<credits>" << store.count_transitions_to(p.id, PaymentStatus::paid) << "</credits>"
        << "<created>" << iso_time(p.created_at) << "</created>"
        << "<updated>" << iso_time(p.updated_at) << "</updated>";
    if (p.paid_at) {
        out << "<paid>" << iso_time(*p.paid_at) << "</paid>";
    }
    if (p.parent_id) {
        out << "<parent>" << *p.parent_id << "</parent>";
    }
    out << "</payment></doc>\n";
}

int run_module(const char* program, int argc, char** argv, const po::options_description& options,
               const std::map<std::string, Command>& commands) {
    std::ios::sync_with_stdio(false);
    po::variables_map vm;
    try {
        po::store(po::parse_command_line(argc, argv, options), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        // Boost's message names the option, never its value.
        std::cerr << program << ": " << e.what() << "\n" << options << "\n";
        return 2;
    }
    if (vm.count("help") != 0) {
        std::cout << options << "\n";
        return 0;
    }
    if (vm.count("command") == 0) {
        std::cerr << program << ": --command is required\n" << options << "\n";
        return 2;
    }
    const std::string name = vm["command"].as<std::string>();
    auto command = commands.find(name);
    if (command == commands.end()) {
        std::cerr << program << ": unknown command '" << name << "'\n" << options << "\n";
        return 2;
    }

    log::init(program, 6);
    try {
        const Config config = load_config();
        log::set_level(config.log_level);
        Context ctx{vm, config, std::cin, std::cout};
        command->second(ctx);
        std::cout.flush();
        return std::cout ? 0 : 1;
    } catch (const Error& e) {
        log::error(name + ": " + e.describe());
        std::cerr << program << ": " << e.describe() << "\n";
        switch (e.kind()) {
        case ErrorKind::bad_input:
        case ErrorKind::forbidden:
        case ErrorKind::not_found:
        case ErrorKind::conflict:
        case ErrorKind::too_large:
        case ErrorKind::method_not_allowed:
            return 2;
        default:
            return 1;
        }
    } catch (const std::exception& e) {
        log::error(name + ": " + e.what());
        std::cerr << program << ": " << e.what() << "\n";
        return 1;
    }
}

} // namespace rk::cli
