// Certificates for TLS tests, made at test time with the openssl command
// line (the Debian package `openssl`): a CA, a server certificate it signed
// for IP 127.0.0.1 and DNS localhost, a client certificate it signed, and
// an unrelated second CA. EC P-256 keys, valid for one day.
#ifndef KEHU_TESTS_TESTING_TEST_CERTIFICATES_H_
#define KEHU_TESTS_TESTING_TEST_CERTIFICATES_H_

#include <string>

#include "absl/status/statusor.h"

namespace kehu::testing {

// Paths of PEM files.
struct TestCertificates {
  std::string ca_cert;
  std::string ca_key;
  std::string server_cert;
  std::string server_key;
  std::string client_cert;
  std::string client_key;
  // A CA that signed none of the above.
  std::string other_ca_cert;
  std::string other_ca_key;
  // A client certificate the other CA signed.
  std::string other_client_cert;
  std::string other_client_key;
};

// Writes the certificates into the existing directory `dir`. An error
// names the openssl command that failed, with its stderr.
absl::StatusOr<TestCertificates> MakeTestCertificates(const std::string& dir);

}  // namespace kehu::testing

#endif  // KEHU_TESTS_TESTING_TEST_CERTIFICATES_H_
