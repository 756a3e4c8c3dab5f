// SPDX-License-Identifier: MIT
// Turns a dropped plugin file into a job: asks for its inputs (list, range or text file).
#include "plugininputsdialog.h"

#include "jobinputsform.h"

#include <QtWidgets/QDialogButtonBox>
#include <QtWidgets/QFormLayout>
#include <QtWidgets/QLabel>
#include <QtWidgets/QLineEdit>
#include <QtWidgets/QPushButton>
#include <QtWidgets/QVBoxLayout>

namespace taskfleet::gui {

PluginInputsDialog::PluginInputsDialog(const exec::PluginInfo &plugin, QWidget *parent)
    : QDialog(parent)
    , m_plugin(plugin)
    , m_name(new QLineEdit(plugin.name, this))
    , m_inputs(std::make_unique<JobInputsForm>(this))
    , m_error(new QLabel(this))
{
    setWindowTitle(tr("New job: %1").arg(plugin.name));
    auto *about = new QLabel(tr("<b>%1</b> %2<br>%3<br>Input: %4<br>Output: %5")
                                 .arg(plugin.name.toHtmlEscaped(), plugin.version.toHtmlEscaped(),
                                      plugin.description.toHtmlEscaped(), plugin.input.toHtmlEscaped(),
                                      plugin.output.toHtmlEscaped()),
                             this);
    about->setWordWrap(true);
    m_error->setStyleSheet(QStringLiteral("color: #c62828"));
    m_error->setWordWrap(true);

    auto *form = new QFormLayout;
    form->addRow(tr("Job name:"), m_name);
    m_inputs->addRows(form);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("Queue job"));
    connect(buttons, &QDialogButtonBox::accepted, this, &PluginInputsDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(about);
    layout->addLayout(form);
    layout->addWidget(m_error);
    layout->addWidget(buttons);
}

PluginInputsDialog::~PluginInputsDialog() = default;

std::optional<sched::JobSpec> PluginInputsDialog::jobSpec(QString *error) const
{
    sched::JobSpec spec;
    spec.name = m_name->text().trimmed().isEmpty() ? m_plugin.name : m_name->text().trimmed();
    spec.plugin = m_plugin;
    if (!m_inputs->fill(&spec, error))
        return std::nullopt;
    return spec;
}

void PluginInputsDialog::accept()
{
    QString error;
    if (!jobSpec(&error)) {
        m_error->setText(error);
        return;
    }
    QDialog::accept();
}

} // namespace taskfleet::gui
