// SPDX-License-Identifier: MIT
// Loading, checking and generating the cluster secret.
#include "secretstore.h"

#include "util/logging.h"

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>

#include <openssl/rand.h>

#include <unistd.h>

namespace taskfleet::net {

namespace {

/** Shorter secrets work but are easy to guess offline from a recorded handshake. */
constexpr int RecommendedMinimumBytes = 16;

SecretResult failure(const QString &error, const QString &path = {})
{
    SecretResult result;
    result.error = error;
    result.path = path;
    return result;
}

void warn(SecretResult &result, const QString &warning)
{
    qCWarning(lcNet).noquote() << warning;
    result.warnings.append(warning);
}

/** Trims, refuses empty, warns if short. \a what names the source in messages. */
SecretResult accept(const QByteArray &raw, const QString &what)
{
    SecretResult result;
    result.secret = raw.trimmed();
    if (result.secret.isEmpty()) {
        result.error = QStringLiteral("%1 is empty — refusing an empty cluster secret").arg(what);
        return result;
    }
    if (result.secret.size() < RecommendedMinimumBytes)
        warn(result, QStringLiteral("the cluster secret from %1 is short (%2 bytes); use at least %3 random characters")
                         .arg(what)
                         .arg(result.secret.size())
                         .arg(RecommendedMinimumBytes));
    return result;
}

} // namespace

SecretResult SecretStore::loadFile(const QString &path)
{
    const QFileInfo info(path);
    if (!info.exists())
        return failure(QStringLiteral("secret file %1 does not exist").arg(path), path);
    if (!info.isFile())
        return failure(QStringLiteral("secret file %1 is not a regular file").arg(path), path);
    if (info.size() > MaxFileSize)
        return failure(
            QStringLiteral("secret file %1 is larger than %2 bytes — not a secret file?").arg(path).arg(MaxFileSize),
            path);

    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return failure(QStringLiteral("cannot read secret file %1: %2").arg(path, file.errorString()), path);
    const QByteArray content = file.read(MaxFileSize + 1);
    if (file.error() != QFileDevice::NoError)
        return failure(QStringLiteral("cannot read secret file %1: %2").arg(path, file.errorString()), path);

    SecretResult result = accept(content, QStringLiteral("secret file %1").arg(path));
    result.path = path;
    if (!result.ok())
        return result;
    const QFileDevice::Permissions open
        = QFileDevice::ReadGroup | QFileDevice::WriteGroup | QFileDevice::ReadOther | QFileDevice::WriteOther;
    if (info.permissions() & open)
        warn(result, QStringLiteral("secret file %1 is accessible by group or others; restrict it with: chmod 600 %1")
                         .arg(path));
    return result;
}

SecretResult SecretStore::fromEnvironment(const char *variable)
{
    const QString name = QString::fromLatin1(variable);
    if (!qEnvironmentVariableIsSet(variable))
        return failure(QStringLiteral("environment variable %1 is not set").arg(name));
    return accept(qgetenv(variable), QStringLiteral("environment variable %1").arg(name));
}

SecretResult SecretStore::fromString(const QString &text)
{
    SecretResult result = accept(text.toUtf8(), QStringLiteral("the command line secret"));
    if (result.ok())
        result.warnings.prepend(commandLineWarning());
    return result;
}

QString SecretStore::commandLineWarning()
{
    return QStringLiteral("a secret given on the command line is visible to other users (ps, /proc); "
                          "prefer --secret-file or the %1 environment variable")
        .arg(QLatin1String(EnvironmentVariable));
}

QString SecretStore::secretFilePath(const QString &stateDir)
{
    return QDir(stateDir).filePath(QStringLiteral("secret"));
}

SecretResult SecretStore::generateAndStore(const QString &stateDir)
{
    if (stateDir.isEmpty())
        return failure(QStringLiteral("no state directory for the generated secret"));
    const QString path = secretFilePath(stateDir);

    QDir dir(stateDir);
    if (!dir.exists()) {
        if (!QDir().mkpath(stateDir))
            return failure(QStringLiteral("cannot create directory %1").arg(stateDir), path);
        QFile::setPermissions(stateDir, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
    }
    if (QFileInfo::exists(path))
        return failure(QStringLiteral("secret file %1 already exists; not overwriting it").arg(path), path);

    QByteArray random(GeneratedBytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char *>(random.data()), GeneratedBytes) != 1)
        return failure(QStringLiteral("cannot generate a random secret (OpenSSL RAND_bytes failed)"), path);
    const QByteArray secret = random.toHex();

    // NewOnly + permissions: the file is created 0600 (umask can only remove bits) before it holds anything.
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::NewOnly, QFileDevice::ReadOwner | QFileDevice::WriteOwner))
        return failure(QStringLiteral("cannot create secret file %1: %2").arg(path, file.errorString()), path);
    const bool written = file.write(secret + '\n') == secret.size() + 1 && file.flush() && ::fsync(file.handle()) == 0;
    file.close();
    if (!written || file.error() != QFileDevice::NoError) {
        const QString error = QStringLiteral("cannot write secret file %1: %2").arg(path, file.errorString());
        QFile::remove(path);
        return failure(error, path);
    }

    SecretResult result;
    result.secret = secret;
    result.path = path;
    qCInfo(lcNet).noquote() << "generated a new cluster secret in" << path
                            << "- give the same secret to the controller (--secret-file or TASKFLEET_SECRET)";
    return result;
}

SecretResult SecretStore::loadOrGenerate(const QString &stateDir)
{
    const QString path = secretFilePath(stateDir);
    if (QFileInfo::exists(path))
        return loadFile(path);
    return generateAndStore(stateDir);
}

SecretResult SecretStore::lookup(const SecretSources &sources)
{
    SecretResult r;
    if (!sources.file.isEmpty()) {
        r = loadFile(sources.file);
        r.source = QStringLiteral("file %1").arg(sources.file);
    } else if (sources.commandLine) {
        r = fromString(*sources.commandLine);
        r.source = QStringLiteral("the command line");
    } else if (!sources.storedFile.isEmpty() && QFileInfo::exists(sources.storedFile)) {
        r = loadFile(sources.storedFile);
        r.source = QStringLiteral("file %1").arg(sources.storedFile);
    } else if (sources.environment && !qEnvironmentVariableIsEmpty(EnvironmentVariable)) {
        r = fromEnvironment();
        r.source = QString::fromLatin1(EnvironmentVariable);
    } else if (!sources.generateInStateDir.isEmpty()) {
        r = loadOrGenerate(sources.generateInStateDir);
        r.source = QStringLiteral("file %1").arg(r.path);
    } else {
        r.error = sources.missing.isEmpty()
                      ? QStringLiteral("no cluster secret: use --secret-file FILE or TASKFLEET_SECRET")
                      : sources.missing;
    }
    return r;
}

} // namespace taskfleet::net
