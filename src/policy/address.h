/*
 * address.h - which IP addresses a node's HTTP requests may connect to.
 *
 * The allow-list (permissions) speaks about host names; this layer speaks
 * about the addresses those names resolve to, so that an allowed name that
 * resolves (or is rebound) to 127.0.0.1, 10.0.0.5 or 169.254.169.254 cannot
 * reach the machine's own network. Only public unicast addresses pass;
 * IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4)
 * are judged by the IPv4 address inside.
 */
#ifndef MW_POLICY_ADDRESS_H
#define MW_POLICY_ADDRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* NULL when sa is a public unicast IPv4/IPv6 address, else a static,
 * human-readable reason ("loopback", "private", "link-local", ...). Any
 * other address family is refused. */
const char *mw__address_refusal(const struct sockaddr *sa);

/* The same rule on raw addresses: v4 in network byte order as 4 bytes, v6
 * as 16 bytes. */
const char *mw__address_refusal_v4(const uint8_t a[4]);
const char *mw__address_refusal_v6(const uint8_t a[16]);

/* mw__address_refusal(sa) == NULL. */
bool mw__address_is_public(const struct sockaddr *sa);

/* The rule the libcurl HTTP backend applies to every resolved address and
 * every socket it opens (NULL: allowed, else the reason). */
typedef const char *(*mw_address_rule_fn)(const struct sockaddr *sa);

#endif
