/* baseline_cgi: the practical limit for rkresult.
 *
 * The smallest program that does what a ResultURL handler must: read the
 * form body, check MD5(OutSum:InvId:Password2) through OpenSSL, mark the
 * payment paid with one UPDATE in the WAL store with synchronous=FULL, and
 * print OK<InvId>. No journal, no history row, no log, no configuration:
 * everything rkresult does beyond this is what it costs us.
 *
 * Password #2 comes from RK_BENCH_PASSWORD2 (bench/run.py sets it through
 * the web server), the store from $MGR5_ROOT/var/pmrobokassa.db: the same
 * file layout and schema as ours, so both update the same kind of row.
 */
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define MAX_BODY 65536

static int reply(int status, const char* reason, const char* body) {
    printf("Status: %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s", status,
           reason, strlen(body), body);
    return 0;
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Decodes '+' and %XX in place; 0 on malformed input. */
static int decode(char* s) {
    char* out = s;
    for (; *s != '\0'; ++s) {
        if (*s == '+') {
            *out++ = ' ';
        } else if (*s == '%') {
            int hi = hex_value(s[1]);
            int lo = hi < 0 ? -1 : hex_value(s[2]);
            if (lo < 0) {
                return 0;
            }
            *out++ = (char)(hi * 16 + lo);
            s += 2;
        } else {
            *out++ = *s;
        }
    }
    *out = '\0';
    return 1;
}

/* "990", "990.5", "990.000000" -> kopecks; -1 when not an amount. */
static long long parse_kopecks(const char* s) {
    long long units = 0;
    int digits = 0;
    for (; *s >= '0' && *s <= '9'; ++s, ++digits) {
        if (units > 100000000000LL) {
            return -1;
        }
        units = units * 10 + (*s - '0');
    }
    if (digits == 0) {
        return -1;
    }
    long long cents = 0;
    if (*s == '.') {
        ++s;
        int decimals = 0;
        for (; *s >= '0' && *s <= '9'; ++s, ++decimals) {
            if (decimals < 2) {
                cents = cents * 10 + (*s - '0');
            } else if (*s != '0') {
                return -1;
            }
        }
        if (decimals == 1) {
            cents *= 10;
        }
    }
    return *s == '\0' ? units * 100 + cents : -1;
}

int main(void) {
    static char body[MAX_BODY + 1];
    size_t n = 0;
    const char* method = getenv("REQUEST_METHOD");
    const char* length = getenv("CONTENT_LENGTH");
    if (method != NULL && strcmp(method, "POST") == 0 && length != NULL) {
        long want = strtol(length, NULL, 10);
        if (want < 0 || want > MAX_BODY) {
            return reply(413, "Payload Too Large", "ERROR body too large\n");
        }
        while (n < (size_t)want) {
            ssize_t got = read(0, body + n, (size_t)want - n);
            if (got <= 0) {
                break;
            }
            n += (size_t)got;
        }
    } else if (getenv("QUERY_STRING") != NULL) {
        n = strlen(getenv("QUERY_STRING"));
        if (n > MAX_BODY) {
            return reply(413, "Payload Too Large", "ERROR query too large\n");
        }
        memcpy(body, getenv("QUERY_STRING"), n);
    }
    body[n] = '\0';

    char* out_sum = NULL;
    char* inv_id = NULL;
    char* signature = NULL;
    char* save = NULL;
    for (char* pair = strtok_r(body, "&", &save); pair != NULL; pair = strtok_r(NULL, "&", &save)) {
        char* eq = strchr(pair, '=');
        if (eq == NULL) {
            continue;
        }
        *eq = '\0';
        if (!decode(eq + 1)) {
            return reply(400, "Bad Request", "ERROR malformed parameter\n");
        }
        if (strcmp(pair, "OutSum") == 0) {
            out_sum = eq + 1;
        } else if (strcmp(pair, "InvId") == 0) {
            inv_id = eq + 1;
        } else if (strcmp(pair, "SignatureValue") == 0) {
            signature = eq + 1;
        }
    }
    if (out_sum == NULL || inv_id == NULL || signature == NULL) {
        return reply(400, "Bad Request", "ERROR OutSum, InvId and SignatureValue are required\n");
    }

    const char* password = getenv("RK_BENCH_PASSWORD2");
    char base[1024];
    int base_length = snprintf(base, sizeof base, "%s:%s:%s", out_sum, inv_id,
                               password != NULL ? password : "");
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_length = 0;
    if (base_length < 0 || (size_t)base_length >= sizeof base ||
        EVP_Digest(base, (size_t)base_length, md, &md_length, EVP_md5(), NULL) != 1) {
        return reply(400, "Bad Request", "ERROR cannot sign\n");
    }
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    for (unsigned int i = 0; i < md_length; ++i) {
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    }
    if (strlen(signature) != 2 * md_length || strcasecmp(hex, signature) != 0) {
        return reply(403, "Forbidden", "ERROR bad signature\n");
    }
    long long kopecks = parse_kopecks(out_sum);
    char* end = NULL;
    long long id = strtoll(inv_id, &end, 10);
    if (kopecks <= 0 || id <= 0 || *end != '\0') {
        return reply(400, "Bad Request", "ERROR bad OutSum or InvId\n");
    }

    const char* root = getenv("MGR5_ROOT");
    char path[4096];
    snprintf(path, sizeof path, "%s/var/pmrobokassa.db", root != NULL ? root : "/usr/local/mgr5");
    sqlite3* db = NULL;
    sqlite3_stmt* st = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        rc = sqlite3_exec(db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_prepare_v2(db,
                                "UPDATE payments SET status = 4, paid_at = ?1, updated_at = ?1 "
                                "WHERE id = ?2 AND amount = ?3 AND status IN (1, 2)",
                                -1, &st, NULL);
    }
    int changed = 0;
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL));
        sqlite3_bind_int64(st, 2, id);
        sqlite3_bind_int64(st, 3, kopecks);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        changed = sqlite3_changes(db);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (rc != SQLITE_OK) {
        return reply(503, "Service Unavailable", "ERROR store unavailable\n");
    }
    if (changed != 1) {
        return reply(409, "Conflict", "ERROR not payable\n");
    }
    char ok[64];
    snprintf(ok, sizeof ok, "OK%s", inv_id);
    return reply(200, "OK", ok);
}
