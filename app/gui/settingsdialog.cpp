// SPDX-License-Identifier: MIT
// Settings: local workers and their shared values, plugin folders, cluster secret, ports.
#include "settingsdialog.h"

#include "net/secretstore.h"

#include <QtCore/QThread>
#include <QtWidgets/QCheckBox>
#include <QtWidgets/QDialogButtonBox>
#include <QtWidgets/QFileDialog>
#include <QtWidgets/QFormLayout>
#include <QtWidgets/QHBoxLayout>
#include <QtWidgets/QLabel>
#include <QtWidgets/QLineEdit>
#include <QtWidgets/QListWidget>
#include <QtWidgets/QPushButton>
#include <QtWidgets/QSpinBox>
#include <QtWidgets/QVBoxLayout>

namespace taskfleet::gui {

SettingsDialog::SettingsDialog(const AppSettings &settings, QWidget *parent)
    : QDialog(parent)
    , m_workers(new QSpinBox(this))
    , m_valueCache(new QSpinBox(this))
    , m_folders(new QListWidget(this))
    , m_secret(new QLineEdit(this))
    , m_showSecret(new QCheckBox(tr("Show"), this))
    , m_agentPort(new QSpinBox(this))
    , m_discoveryPort(new QSpinBox(this))
    , m_discovery(new QCheckBox(tr("Find agents on the local network"), this))
    , m_acceptAgents(new QCheckBox(tr("Agents may connect to this computer on port"), this))
    , m_listenPort(new QSpinBox(this))
    , m_original(settings)
{
    setWindowTitle(tr("Settings")); // the system adds " — Taskfleet"
    m_workers->setRange(-1, 1024);
    m_workers->setSpecialValueText(tr("one per CPU (%1)").arg(QThread::idealThreadCount()));
    m_workers->setValue(settings.localWorkers);
    m_valueCache->setRange(16, 1 << 20);
    m_valueCache->setSingleStep(256);
    m_valueCache->setSuffix(tr(" MB per worker"));
    m_valueCache->setValue(settings.valueCacheMb);
    m_valueCache->setToolTip(tr("Values that many tasks share (server.share(), a big array passed to many submits) "
                                "reach each local worker once and are kept for later tasks; beyond this, the least "
                                "recently used go and are sent again when needed. Applies when Taskfleet starts."));
    m_folders->addItems(settings.pluginFolders);
    m_folders->setMaximumHeight(90);
    m_initialSecret = AppSettings::secret();
    m_secret->setText(m_initialSecret);
    m_secret->setEchoMode(QLineEdit::Password);
    m_secret->setPlaceholderText(tr("none set"));
    connect(m_showSecret, &QCheckBox::toggled, this,
            [this](bool on) { m_secret->setEchoMode(on ? QLineEdit::Normal : QLineEdit::Password); });
    m_agentPort->setRange(1, 65535);
    m_agentPort->setValue(settings.agentPort);
    m_discoveryPort->setRange(1, 65535);
    m_discoveryPort->setValue(settings.discoveryPort);
    m_discovery->setChecked(settings.discovery);
    m_acceptAgents->setChecked(settings.acceptAgents);
    m_acceptAgents->setToolTip(tr("For agents that cannot be dialed (behind NAT or a firewall, on Slurm nodes): start "
                                  "them with taskfleet-agent --connect THIS-COMPUTER:PORT and the same secret"));
    m_listenPort->setRange(1, 65535);
    m_listenPort->setValue(settings.listenPort);
    m_listenPort->setEnabled(settings.acceptAgents);
    connect(m_acceptAgents, &QCheckBox::toggled, m_listenPort, &QWidget::setEnabled);

    auto *folderButtons = new QHBoxLayout;
    auto *add = new QPushButton(tr("Add…"), this);
    auto *remove = new QPushButton(tr("Remove"), this);
    connect(add, &QPushButton::clicked, this, &SettingsDialog::onAddFolder);
    connect(remove, &QPushButton::clicked, this, &SettingsDialog::onRemoveFolder);
    folderButtons->addWidget(add);
    folderButtons->addWidget(remove);
    folderButtons->addStretch();
    auto *folders = new QVBoxLayout;
    folders->addWidget(m_folders);
    folders->addLayout(folderButtons);
    auto *secretRow = new QHBoxLayout;
    secretRow->addWidget(m_secret);
    secretRow->addWidget(m_showSecret);
    auto *loadSecret = new QPushButton(tr("Load From File…"), this);
    loadSecret->setToolTip(tr("Use the secret in a file, for example a copy of an agent's secret file"));
    connect(loadSecret, &QPushButton::clicked, this, &SettingsDialog::onLoadSecret);
    secretRow->addWidget(loadSecret);

    auto *form = new QFormLayout;
    form->addRow(tr("Local workers:"), m_workers);
    form->addRow(tr("Shared values:"), m_valueCache);
    form->addRow(tr("Plugin folders:"), folders);
    form->addRow(tr("Cluster secret:"), secretRow);
    m_secretNote = new QLabel(tr("Stored in %1 (readable by you only).").arg(AppSettings::secretFilePath()), this);
    m_secretNote->setWordWrap(true);
    m_secretNote->setEnabled(false);
    form->addRow(QString(), m_secretNote);
    form->addRow(tr("Agent port:"), m_agentPort);
    form->addRow(tr("Discovery port:"), m_discoveryPort);
    form->addRow(QString(), m_discovery);
    auto *listenRow = new QHBoxLayout;
    listenRow->addWidget(m_acceptAgents);
    listenRow->addWidget(m_listenPort);
    listenRow->addStretch();
    form->addRow(QString(), listenRow);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(buttons);
}

AppSettings SettingsDialog::settings() const
{
    AppSettings s = m_original; // what the dialog does not show (the nodes added by hand) stays
    s.localWorkers = m_workers->value();
    s.valueCacheMb = m_valueCache->value();
    s.pluginFolders.clear();
    for (int i = 0; i < m_folders->count(); ++i)
        s.pluginFolders.append(m_folders->item(i)->text());
    s.agentPort = quint16(m_agentPort->value());
    s.discoveryPort = quint16(m_discoveryPort->value());
    s.discovery = m_discovery->isChecked();
    s.acceptAgents = m_acceptAgents->isChecked();
    s.listenPort = quint16(m_listenPort->value());
    return s;
}

QString SettingsDialog::secret() const
{
    return m_secret->text();
}

bool SettingsDialog::secretChanged() const
{
    return m_secret->text() != m_initialSecret;
}

bool SettingsDialog::loadSecretFile(const QString &path, QString *error)
{
    const net::SecretResult loaded = net::SecretStore::loadFile(path);
    if (!loaded.ok()) {
        *error = loaded.error;
        return false;
    }
    m_secret->setText(QString::fromUtf8(loaded.secret));
    QString note = tr("From %1; stored in %2 (readable by you only) when you press OK.")
                       .arg(path, AppSettings::secretFilePath());
    if (!loaded.warnings.isEmpty())
        note += QLatin1Char('\n') + loaded.warnings.join(QLatin1Char('\n'));
    m_secretNote->setText(note);
    m_secretNote->setEnabled(!loaded.warnings.isEmpty()); // a warning is not greyed out
    return true;
}

void SettingsDialog::onLoadSecret()
{
    const QString path = QFileDialog::getOpenFileName(this, tr("Load Cluster Secret"));
    if (path.isEmpty())
        return;
    QString error;
    if (!loadSecretFile(path, &error)) {
        m_secretNote->setText(tr("Not loaded: %1").arg(error));
        m_secretNote->setEnabled(true);
    }
}

void SettingsDialog::onAddFolder()
{
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Plugin folder"));
    if (!dir.isEmpty())
        m_folders->addItem(dir);
}

void SettingsDialog::onRemoveFolder()
{
    delete m_folders->currentItem();
}

} // namespace taskfleet::gui
