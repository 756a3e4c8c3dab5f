// SPDX-License-Identifier: MIT
// Settings: local workers, plugin folders, cluster secret, ports.
#include "settingsdialog.h"

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
    , m_folders(new QListWidget(this))
    , m_secret(new QLineEdit(this))
    , m_showSecret(new QCheckBox(tr("Show"), this))
    , m_agentPort(new QSpinBox(this))
    , m_discoveryPort(new QSpinBox(this))
    , m_discovery(new QCheckBox(tr("Find agents on the local network"), this))
{
    setWindowTitle(tr("Settings")); // the system adds " — Taskfleet"
    m_workers->setRange(-1, 1024);
    m_workers->setSpecialValueText(tr("one per CPU (%1)").arg(QThread::idealThreadCount()));
    m_workers->setValue(settings.localWorkers);
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

    auto *form = new QFormLayout;
    form->addRow(tr("Local workers:"), m_workers);
    form->addRow(tr("Plugin folders:"), folders);
    form->addRow(tr("Cluster secret:"), secretRow);
    auto *secretNote = new QLabel(tr("Stored in %1 (readable by you only).").arg(AppSettings::secretFilePath()), this);
    secretNote->setWordWrap(true);
    secretNote->setEnabled(false);
    form->addRow(QString(), secretNote);
    form->addRow(tr("Agent port:"), m_agentPort);
    form->addRow(tr("Discovery port:"), m_discoveryPort);
    form->addRow(QString(), m_discovery);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(buttons);
}

AppSettings SettingsDialog::settings() const
{
    AppSettings s;
    s.localWorkers = m_workers->value();
    for (int i = 0; i < m_folders->count(); ++i)
        s.pluginFolders.append(m_folders->item(i)->text());
    s.agentPort = quint16(m_agentPort->value());
    s.discoveryPort = quint16(m_discoveryPort->value());
    s.discovery = m_discovery->isChecked();
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
