/*
 * address.c - the address rule behind the HTTP backend's SSRF defence: an
 * address is acceptable only if it is public unicast.
 *
 * The ranges come from the IANA special-purpose address registries (RFC
 * 6890 and successors). A range is refused when it is not globally
 * reachable or reaches the local machine or network; tables are checked in
 * order, so a more specific entry comes before the range containing it.
 * IPv6 forms that embed an IPv4 address are judged by that address, since
 * the kernel or a translator turns them into IPv4 connections.
 */
#include "policy/address.h"

#include <netinet/in.h>
#include <string.h>

typedef struct range {
  uint8_t net[16];
  unsigned bits;
  const char *why;
} range_t;

/* A /bits prefix match of a against net (len bytes long). */
static bool in_range(const uint8_t *a, const uint8_t *net, unsigned bits) {
  unsigned full = bits / 8, rest = bits % 8;
  if (memcmp(a, net, full) != 0) return false;
  if (rest == 0) return true;
  uint8_t mask = (uint8_t)(0xff << (8 - rest));
  return (a[full] & mask) == (net[full] & mask);
}

static const range_t v4_refused[] = {
    {{0, 0, 0, 0}, 8, "unspecified"},
    {{10, 0, 0, 0}, 8, "private"},
    {{100, 64, 0, 0}, 10, "carrier-grade NAT"},
    {{127, 0, 0, 0}, 8, "loopback"},
    {{169, 254, 0, 0}, 16, "link-local"}, /* incl. cloud metadata .169.254 */
    {{172, 16, 0, 0}, 12, "private"},
    {{192, 0, 0, 0}, 24, "reserved (IETF protocol assignments)"},
    {{192, 0, 2, 0}, 24, "documentation"},
    {{192, 88, 99, 0}, 24, "reserved (6to4 relay anycast)"},
    {{192, 168, 0, 0}, 16, "private"},
    {{198, 18, 0, 0}, 15, "benchmarking"},
    {{198, 51, 100, 0}, 24, "documentation"},
    {{203, 0, 113, 0}, 24, "documentation"},
    {{224, 0, 0, 0}, 4, "multicast"},
    {{255, 255, 255, 255}, 32, "broadcast"},
    {{240, 0, 0, 0}, 4, "reserved"},
};

const char *mw__address_refusal_v4(const uint8_t a[4]) {
  for (size_t i = 0; i < sizeof v4_refused / sizeof *v4_refused; i++)
    if (in_range(a, v4_refused[i].net, v4_refused[i].bits))
      return v4_refused[i].why;
  return NULL;
}

/* IPv6 prefixes whose last 32 bits (or bits 16..47 for 6to4) are an IPv4
 * address that decides. */
static const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
static const uint8_t nat64[16] = {0, 0x64, 0xff, 0x9b};
static const uint8_t compat[16] = {0};
static const uint8_t six_to_four[16] = {0x20, 0x02};

static const range_t v6_refused[] = {
    {{0}, 128, "unspecified"},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, "loopback"},
    {{0, 0x64, 0xff, 0x9b, 0, 1}, 48, "private (local-use NAT64)"},
    {{0x01, 0x00}, 64, "reserved (discard-only)"},
    /* Teredo tunnels to an obfuscated IPv4 peer: refused as a whole. */
    {{0x20, 0x01, 0, 0}, 32, "Teredo"},
    {{0x20, 0x01, 0x0d, 0xb8}, 32, "documentation"},
    {{0x20, 0x01, 0, 0}, 23, "reserved (IETF protocol assignments)"},
    {{0x3f, 0xff, 0}, 20, "documentation"},
    {{0x5f, 0x00}, 16, "reserved (SRv6)"},
    {{0xfc}, 7, "unique-local"},
    {{0xfe, 0x80}, 10, "link-local"},
    {{0xfe, 0xc0}, 10, "site-local"},
    {{0xff}, 8, "multicast"},
};

const char *mw__address_refusal_v6(const uint8_t a[16]) {
  /* Embedded IPv4 first: ::ffff:127.0.0.1 must read as loopback. */
  if (in_range(a, mapped, 96) || in_range(a, nat64, 96))
    return mw__address_refusal_v4(a + 12);
  for (size_t i = 0; i < sizeof v6_refused / sizeof *v6_refused; i++)
    if (in_range(a, v6_refused[i].net, v6_refused[i].bits))
      return v6_refused[i].why;
  if (in_range(a, compat, 96)) {
    /* Deprecated IPv4-compatible form: never valid as a destination. */
    const char *inner = mw__address_refusal_v4(a + 12);
    return inner ? inner : "reserved (IPv4-compatible)";
  }
  if (in_range(a, six_to_four, 16)) return mw__address_refusal_v4(a + 2);
  /* Only 2000::/3 is allocated as global unicast. */
  if ((a[0] & 0xe0) != 0x20) return "reserved";
  return NULL;
}

const char *mw__address_refusal(const struct sockaddr *sa) {
  if (!sa) return "not an IP address";
  if (sa->sa_family == AF_INET) {
    struct sockaddr_in sin;
    memcpy(&sin, sa, sizeof sin); /* sa may not be aligned for the cast */
    uint8_t a[4];
    memcpy(a, &sin.sin_addr, 4);
    return mw__address_refusal_v4(a);
  }
  if (sa->sa_family == AF_INET6) {
    struct sockaddr_in6 sin6;
    memcpy(&sin6, sa, sizeof sin6);
    return mw__address_refusal_v6(sin6.sin6_addr.s6_addr);
  }
  return "not an IP address";
}

bool mw__address_is_public(const struct sockaddr *sa) {
  return mw__address_refusal(sa) == NULL;
}
