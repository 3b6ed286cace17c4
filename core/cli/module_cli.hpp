#pragma once

#include "billing/store.hpp"
#include "util/config.hpp"
#include "util/error.hpp"

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/variables_map.hpp>
#include <functional>
#include <iosfwd>
#include <map>
#include <string>
#include <utility>
#include <vector>

// What the payment modules (pmrobokassa, pmstripe) share on the command
// line: the BILLmanager --command protocol, option access, the payment
// options and the payment.show document.
namespace rk::cli {

// Everything a command needs: the parsed options, the installation's
// configuration and the streams it answers on.
struct Context {
    const boost::program_options::variables_map& options;
    const Config& config;
    std::istream& in;
    std::ostream& out;
};

using Command = void (*)(Context&);

const std::string* option(const Context& ctx, const char* name);
// Throws bad_input naming --NAME when absent.
const std::string& required_option(const Context& ctx, const char* name);
bool flag(const Context& ctx, const char* name);

// method.add --name: 1 to 128 bytes of UTF-8 without control characters.
const std::string& method_name_option(const Context& ctx);

// Where a gateway must call the panel, for the URLs an admin pastes into its
// cabinet: the origin of manager_url, or a placeholder the admin can
// recognise while manager_url is not configured.
std::string callback_origin(const Config& config);

// A method form's field behind each command-line option, e.g.
// {"shop-id", "shop_id"}.
using OptionFields = std::vector<std::pair<const char*, const char*>>;

// The form fields method.add was given, by their pmvalidate names.
std::map<std::string, std::string> fields_from_options(const Context& ctx,
                                                       const OptionFields& mapping);

// Runs `validate` on the fields; an error naming a form field is rethrown
// naming the option the admin typed instead.
template <typename Validate>
auto validate_options(const std::map<std::string, std::string>& fields, const OptionFields& mapping,
                      Validate validate);

// pmvalidate: reads the method form (fields as children of <doc>) from
// stdin, keeps `names`, and runs `validate` on them. Valid: echoes the
// document; invalid: <doc><error type="value" object="FIELD">. Unreadable
// XML is bad_input (exit 2).
void run_pmvalidate(Context& ctx, const std::vector<const char*>& names,
                    const std::function<void(const std::map<std::string, std::string>&)>& validate);

// run_pmvalidate for a check that may accept with a note (`validate`
// returns it; "" for none): the echoed document then carries it as
// <credentials_check status="not_checked">NOTE</credentials_check>.
void run_pmvalidate_noting(
    Context& ctx, const std::vector<const char*>& names,
    const std::function<std::string(const std::map<std::string, std::string>&)>& validate);

// Unix time as the XML answers write it: 2026-11-23T06:11:42Z (UTC).
std::string iso_time(std::int64_t unix_time);

// BILLmanager's error answer on stdout:
// <doc><error type="value" object="FIELD">…<msg>…</msg></error></doc>.
void write_error_doc(std::ostream& out, const Error& e);

// What a command reads from stdin or a file named on the command line:
// BILLmanager's forms and receipts are a few kilobytes.
inline constexpr std::size_t k_max_input_bytes = std::size_t{1024} * 1024;

// All of `in`, or too_large naming `field` as soon as it passes
// k_max_input_bytes: reading stops there, so /dev/zero is refused too.
std::string read_limited(std::istream& in, const std::string& field);
// The file at `path` through read_limited; bad_input naming `field` when it
// cannot be read.
std::string read_file_limited(const std::string& path, const std::string& field);

// The installation's store, created on first use.
Store open_store(const Context& ctx);

// payment.add's common options: --amount (> 0), --currency (three capital
// letters), --description (≤ 100 characters, Robokassa's limit), --email,
// --id. The method is the caller's to resolve.
NewPayment read_new_payment(const Context& ctx);

// Stores the payment; a taken --id or an unknown --method is refused
// naming the option, not the store's column.
PaymentId add_payment(Store& store, const NewPayment& payment);

// payment.show --payment ID: the payment as XML; exit 2 for an unknown id.
void command_payment_show(Context& ctx);

// main() of a module: parses the options, runs the named command, and maps
// errors to exit codes (2 for the caller's mistakes, 1 for the rest),
// naming the field on stderr. `options` must declare --help and --command.
int run_module(const char* program, int argc, char** argv,
               const boost::program_options::options_description& options,
               const std::map<std::string, Command>& commands);

template <typename Validate>
auto validate_options(const std::map<std::string, std::string>& fields, const OptionFields& mapping,
                      Validate validate) {
    try {
        return validate(fields);
    } catch (const Error& e) {
        for (const auto& [opt, field] : mapping) {
            if (e.field() == field) {
                throw Error(e.kind(), std::string("--") + opt, e.what());
            }
        }
        throw;
    }
}

} // namespace rk::cli
