// SPDX-License-Identifier: MIT
// "Add Node…": host and port of a remote node, for node types registered by the network layer.
#include "addnodedialog.h"

#include <QtWidgets/QComboBox>
#include <QtWidgets/QDialogButtonBox>
#include <QtWidgets/QFormLayout>
#include <QtWidgets/QLabel>
#include <QtWidgets/QLineEdit>
#include <QtWidgets/QPushButton>
#include <QtWidgets/QSpinBox>
#include <QtWidgets/QVBoxLayout>

namespace taskfleet::gui {

namespace {
QVector<NodeTypes::Type> &registry()
{
    static QVector<NodeTypes::Type> types;
    return types;
}
} // namespace

void NodeTypes::registerType(const QString &name, Factory factory)
{
    registry().append({name, std::move(factory)});
}

QVector<NodeTypes::Type> NodeTypes::types()
{
    return registry();
}

AddNodeDialog::AddNodeDialog(quint16 defaultPort, QWidget *parent)
    : QDialog(parent)
    , m_type(new QComboBox(this))
    , m_host(new QLineEdit(this))
    , m_port(new QSpinBox(this))
{
    setWindowTitle(tr("Add Node")); // as the menu item says; the system adds the app name
    const QVector<NodeTypes::Type> types = NodeTypes::types();
    for (const NodeTypes::Type &t : types)
        m_type->addItem(t.name);
    m_host->setPlaceholderText(tr("host name or address"));
    m_port->setRange(1, 65535);
    m_port->setValue(defaultPort);
    auto *form = new QFormLayout;
    form->addRow(tr("Type:"), m_type);
    form->addRow(tr("Host:"), m_host);
    form->addRow(tr("Port:"), m_port);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    if (types.isEmpty()) {
        auto *note = new QLabel(tr("This build has no remote node type yet: only the local node is available."), this);
        note->setWordWrap(true);
        layout->addWidget(note);
        buttons->button(QDialogButtonBox::Ok)->setEnabled(false);
    }
    QPushButton *ok = buttons->button(QDialogButtonBox::Ok);
    connect(m_host, &QLineEdit::textChanged, this, [ok, hasTypes = !types.isEmpty()](const QString &text) {
        ok->setEnabled(hasTypes && !text.trimmed().isEmpty());
    });
    ok->setEnabled(false);
    layout->addWidget(buttons);
}

QString AddNodeDialog::host() const
{
    return m_host->text().trimmed();
}

quint16 AddNodeDialog::port() const
{
    return quint16(m_port->value());
}

int AddNodeDialog::typeIndex() const
{
    return m_type->currentIndex();
}

} // namespace taskfleet::gui
