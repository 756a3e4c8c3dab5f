// SPDX-License-Identifier: MIT
// Settings: local workers, plugin folders, cluster secret, ports.
#pragma once

#include "appsettings.h"

#include <QtWidgets/QDialog>

class QCheckBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QSpinBox;

namespace taskfleet::gui {

/** Edits AppSettings and the cluster secret; the secret field is masked unless "Show" is ticked. */
class SettingsDialog : public QDialog
{
    Q_OBJECT

public:
    explicit SettingsDialog(const AppSettings &settings, QWidget *parent = nullptr);
    AppSettings settings() const;
    QString secret() const;
    bool secretChanged() const;
    /**
     * Puts the secret of \a path (an agent's secret file, read with net::SecretStore::loadFile: its
     * permissions are checked) in the field; false with *error, and the field unchanged, when it cannot.
     */
    bool loadSecretFile(const QString &path, QString *error);

private:
    void onAddFolder();
    void onRemoveFolder();
    void onLoadSecret();

    QSpinBox *m_workers;
    QSpinBox *m_valueCache;
    QListWidget *m_folders;
    QLineEdit *m_secret;
    QCheckBox *m_showSecret;
    QLabel *m_secretNote;
    QSpinBox *m_agentPort;
    QSpinBox *m_discoveryPort;
    QCheckBox *m_discovery;
    QCheckBox *m_acceptAgents;
    QSpinBox *m_listenPort;
    AppSettings m_original;
    QString m_initialSecret;
};

} // namespace taskfleet::gui
