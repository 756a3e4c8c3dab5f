// SPDX-License-Identifier: MIT
// deriveKey() must be RFC 5869 HKDF-SHA256 with fixed, distinct contexts; constantTimeEquals() must compare correctly.
#include "net/keyderivation.h"

#include <QtCore/QMessageAuthenticationCode>
#include <QtTest/QtTest>

using namespace taskfleet::net;

namespace {

/** Independent HKDF-SHA256 (RFC 5869) from HMAC, to check deriveKey() against. */
QByteArray referenceHkdf(const QByteArray &ikm, const QByteArray &salt, const QByteArray &info, int length)
{
    const QByteArray prk = QMessageAuthenticationCode::hash(ikm, salt, QCryptographicHash::Sha256);
    QByteArray okm;
    QByteArray block;
    for (char counter = 1; okm.size() < length; ++counter) {
        block
            = QMessageAuthenticationCode::hash(block + info + QByteArray(1, counter), prk, QCryptographicHash::Sha256);
        okm += block;
    }
    return okm.left(length);
}

} // namespace

class TestKeyDerivation : public QObject
{
    Q_OBJECT

private slots:
    void referenceMatchesRfc5869();
    void knownAnswers_data();
    void knownAnswers();
    void deterministic();
    void purposesDiffer();
    void secretsDiffer();
    void emptySecretGivesEmptyKey();
    void constantTimeEqualsBasics();
};

void TestKeyDerivation::referenceMatchesRfc5869()
{
    // RFC 5869, appendix A.1 (test case 1).
    const QByteArray ikm = QByteArray::fromHex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
    const QByteArray salt = QByteArray::fromHex("000102030405060708090a0b0c");
    const QByteArray info = QByteArray::fromHex("f0f1f2f3f4f5f6f7f8f9");
    const QByteArray okm
        = QByteArray::fromHex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
    QCOMPARE(referenceHkdf(ikm, salt, info, 42), okm);
}

void TestKeyDerivation::knownAnswers_data()
{
    QTest::addColumn<int>("purpose");
    QTest::addColumn<QByteArray>("info");
    // The salt and context strings are part of the protocol: changing them breaks every deployed cluster.
    QTest::newRow("tls-psk") << int(KeyPurpose::TlsPsk) << QByteArray("taskfleet/v1 tls-psk");
    QTest::newRow("discovery-hmac") << int(KeyPurpose::DiscoveryHmac) << QByteArray("taskfleet/v1 discovery-hmac");
}

void TestKeyDerivation::knownAnswers()
{
    QFETCH(int, purpose);
    QFETCH(QByteArray, info);
    const QByteArray secret("correct horse battery staple");
    const QByteArray expected = referenceHkdf(secret, QByteArray("taskfleet cluster secret"), info, DerivedKeySize);
    QCOMPARE(deriveKey(secret, KeyPurpose(purpose)), expected);
}

void TestKeyDerivation::deterministic()
{
    const QByteArray secret("s3cret");
    const QByteArray a = deriveKey(secret, KeyPurpose::TlsPsk);
    QCOMPARE(a.size(), DerivedKeySize);
    QCOMPARE(deriveKey(secret, KeyPurpose::TlsPsk), a);
    QCOMPARE(deriveKey(QByteArray("s3cret"), KeyPurpose::TlsPsk), a);
}

void TestKeyDerivation::purposesDiffer()
{
    const QByteArray secret("s3cret");
    const QByteArray psk = deriveKey(secret, KeyPurpose::TlsPsk);
    const QByteArray hmac = deriveKey(secret, KeyPurpose::DiscoveryHmac);
    QCOMPARE(hmac.size(), DerivedKeySize);
    QVERIFY(psk != hmac);
    // Neither key is, or contains, the secret.
    QVERIFY(!psk.contains(secret));
    QVERIFY(!hmac.contains(secret));
}

void TestKeyDerivation::secretsDiffer()
{
    QVERIFY(deriveKey("secret-a", KeyPurpose::TlsPsk) != deriveKey("secret-b", KeyPurpose::TlsPsk));
    QVERIFY(deriveKey("secret", KeyPurpose::TlsPsk) != deriveKey("secret ", KeyPurpose::TlsPsk));
    QVERIFY(deriveKey("a", KeyPurpose::DiscoveryHmac) != deriveKey("b", KeyPurpose::DiscoveryHmac));
}

void TestKeyDerivation::emptySecretGivesEmptyKey()
{
    QVERIFY(deriveKey(QByteArray(), KeyPurpose::TlsPsk).isEmpty());
    QVERIFY(deriveKey(QByteArray(""), KeyPurpose::DiscoveryHmac).isEmpty());
}

void TestKeyDerivation::constantTimeEqualsBasics()
{
    QVERIFY(constantTimeEquals(QByteArray(), QByteArray()));
    QVERIFY(constantTimeEquals("abc", "abc"));
    QVERIFY(!constantTimeEquals("abc", "abd"));
    QVERIFY(!constantTimeEquals("abc", "abcd"));
    QVERIFY(!constantTimeEquals("abc", QByteArray()));
    const QByteArray key = deriveKey("x", KeyPurpose::TlsPsk);
    QByteArray flipped = key;
    flipped[0] = char(flipped[0] ^ 1);
    QVERIFY(constantTimeEquals(key, deriveKey("x", KeyPurpose::TlsPsk)));
    QVERIFY(!constantTimeEquals(key, flipped));
}

QTEST_GUILESS_MAIN(TestKeyDerivation)
#include "tst_keyderivation.moc"
