// The notification journal for admins: what Robokassa (and checkpay) told
// us, and what we made of it, without SQL.
#include "billing/store.hpp"
#include "commands.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#include <ctime>
#include <ostream>

namespace rk::module {

namespace {

using cli::option;
using cli::required_option;

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// --since: YYYY-MM-DD or YYYY-MM-DDThh:mm, UTC, as Unix time.
std::int64_t parse_since(const std::string& text) {
    const char* rule = "must be a UTC date YYYY-MM-DD or YYYY-MM-DDThh:mm";
    static const char shape[] = "dddd-dd-ddTdd:dd";
    if (text.size() != 10 && text.size() != 16) {
        throw bad_input("--since", rule);
    }
    for (std::size_t i = 0; i < text.size(); ++i) {
        bool ok = shape[i] == 'd' ? is_digit(text[i]) : text[i] == shape[i];
        if (!ok) {
            throw bad_input("--since", rule);
        }
    }
    auto number = [&text](std::size_t at, std::size_t length) {
        return std::stoi(text.substr(at, length));
    };
    std::tm tm{};
    tm.tm_year = number(0, 4) - 1900;
    tm.tm_mon = number(5, 2) - 1;
    tm.tm_mday = number(8, 2);
    if (text.size() == 16) {
        tm.tm_hour = number(11, 2);
        tm.tm_min = number(14, 2);
    }
    const int month = tm.tm_mon;
    const int day = tm.tm_mday;
    const std::time_t t = timegm(&tm);
    // timegm normalises 2026-02-30 into March: a date it moved was not one.
    if (month < 0 || month > 11 || tm.tm_mon != month || tm.tm_mday != day || tm.tm_hour > 23 ||
        tm.tm_min > 59) {
        throw bad_input("--since", rule);
    }
    return static_cast<std::int64_t>(t);
}

std::int64_t parse_entry_id(const std::string& text) {
    if (text.empty() || text.size() > 18 || text[0] == '0') {
        throw bad_input("--entry", "must be a journal entry id (a positive number)");
    }
    for (char c : text) {
        if (!is_digit(c)) {
            throw bad_input("--entry", "must be a journal entry id (a positive number)");
        }
    }
    return std::stoll(text);
}

std::string element(const char* name, const std::string& value) {
    return std::string("<") + name + ">" + escape_markup(xml_safe(value)) + "</" + name + ">";
}

// The fields every entry shows; journal.show adds what was received.
std::string entry_fields(const JournalEntry& e) {
    const Notification& n = e.notification;
    return "<id>" + std::to_string(e.id) + "</id>" +
           element("payment", n.payment_id ? std::to_string(*n.payment_id) : "") +
           element("source", n.source) + element("verdict", n.verdict) +
           element("reason", n.reason) + "<received>" + cli::iso_time(e.received_at) +
           "</received>";
}

const char* const k_xml_head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

} // namespace

void command_journal_list(Context& ctx) {
    JournalFilter filter;
    if (const std::string* payment = option(ctx, "payment")) {
        filter.payment_id = parse_payment_id(*payment, "--payment");
    }
    if (const std::string* verdict = option(ctx, "verdict")) {
        if (verdict->empty() || verdict->size() > 64) {
            throw bad_input("--verdict", "must be a verdict such as credited or uncredited");
        }
        filter.verdict = *verdict;
    }
    if (const std::string* since = option(ctx, "since")) {
        filter.since = parse_since(*since);
    }
    Store store = cli::open_store(ctx);
    ctx.out << k_xml_head << "<doc>";
    for (const JournalEntry& e : store.journal(filter)) {
        ctx.out << "<entry>" << entry_fields(e) << "</entry>";
    }
    ctx.out << "</doc>\n";
}

void command_journal_show(Context& ctx) {
    const std::string& text = required_option(ctx, "entry");
    std::int64_t id = parse_entry_id(text);
    Store store = cli::open_store(ctx);
    auto entry = store.journal_entry(id);
    if (!entry) {
        throw Error(ErrorKind::not_found, "--entry", "no journal entry " + text);
    }
    // The parameters carry no password: the CGIs journal what arrived, and
    // only signatures (digests) and public values arrive.
    ctx.out << k_xml_head << "<doc><entry>" << entry_fields(*entry)
            << element("params", entry->notification.params) << "<reply_status>"
            << entry->notification.reply_status << "</reply_status>"
            << element("reply", entry->notification.reply_body) << "</entry></doc>\n";
}

} // namespace rk::module
