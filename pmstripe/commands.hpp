#pragma once

#include "config.hpp"

#include <boost/program_options/variables_map.hpp>
#include <iosfwd>

namespace rk::stripe::module {

// Everything a command needs: the parsed options, the installation's
// configuration and the streams it answers on.
struct Context {
    const boost::program_options::variables_map& options;
    const Config& config;
    std::istream& in;
    std::ostream& out;
};

// BILLmanager's protocol (CONTRACT §3, §6): XML on stdout.
void command_config(Context& ctx);
void command_pmvalidate(Context& ctx);

// Standalone administration.
void command_method_add(Context& ctx);
void command_method_list(Context& ctx);
void command_method_show(Context& ctx);
void command_payment_add(Context& ctx);
void command_payment_show(Context& ctx);

} // namespace rk::stripe::module
