// SPDX-License-Identifier: MIT
// Turns a dropped plugin file into a job: asks for its inputs (list, range or text file).
#include "plugininputsdialog.h"

#include "sched/jobfile.h"

#include <QtCore/QFile>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonValue>
#include <QtWidgets/QComboBox>
#include <QtWidgets/QDialogButtonBox>
#include <QtWidgets/QFileDialog>
#include <QtWidgets/QFormLayout>
#include <QtWidgets/QHBoxLayout>
#include <QtWidgets/QLabel>
#include <QtWidgets/QLineEdit>
#include <QtWidgets/QPlainTextEdit>
#include <QtWidgets/QPushButton>
#include <QtWidgets/QSpinBox>
#include <QtWidgets/QStackedWidget>
#include <QtWidgets/QVBoxLayout>

namespace taskfleet::gui {

PluginInputsDialog::PluginInputsDialog(const exec::PluginInfo &plugin, QWidget *parent)
    : QDialog(parent)
    , m_plugin(plugin)
    , m_name(new QLineEdit(plugin.name, this))
    , m_kind(new QComboBox(this))
    , m_pages(new QStackedWidget(this))
    , m_list(new QPlainTextEdit(this))
    , m_start(new QSpinBox(this))
    , m_stop(new QSpinBox(this))
    , m_step(new QSpinBox(this))
    , m_file(new QLineEdit(this))
    , m_retries(new QSpinBox(this))
    , m_timeout(new QSpinBox(this))
    , m_error(new QLabel(this))
{
    setWindowTitle(tr("New job: %1").arg(plugin.name));
    auto *about = new QLabel(tr("<b>%1</b> %2<br>%3<br>Input: %4<br>Output: %5")
                                 .arg(plugin.name.toHtmlEscaped(), plugin.version.toHtmlEscaped(), plugin.description.toHtmlEscaped(),
                                      plugin.input.toHtmlEscaped(), plugin.output.toHtmlEscaped()),
                             this);
    about->setWordWrap(true);

    m_kind->addItems({tr("List (one JSON value per line)"), tr("Range of integers"), tr("Text file (one input per line)")});
    m_list->setPlaceholderText(tr("1\n2\n\"text\"\n{\"key\": 3}"));
    m_pages->addWidget(m_list);
    auto *range = new QWidget(this);
    auto *rangeForm = new QFormLayout(range);
    for (QSpinBox *s : {m_start, m_stop, m_step})
        s->setRange(-2000000000, 2000000000);
    m_stop->setValue(100);
    m_step->setValue(1);
    rangeForm->addRow(tr("Start:"), m_start);
    rangeForm->addRow(tr("Stop (excluded):"), m_stop);
    rangeForm->addRow(tr("Step:"), m_step);
    m_pages->addWidget(range);
    auto *filePage = new QWidget(this);
    auto *fileRow = new QHBoxLayout(filePage);
    auto *browse = new QPushButton(tr("Browse…"), filePage);
    fileRow->addWidget(m_file);
    fileRow->addWidget(browse);
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString f = QFileDialog::getOpenFileName(this, tr("Inputs file"));
        if (!f.isEmpty())
            m_file->setText(f);
    });
    m_pages->addWidget(filePage);
    connect(m_kind, &QComboBox::currentIndexChanged, m_pages, &QStackedWidget::setCurrentIndex);

    m_retries->setRange(0, 20);
    m_retries->setValue(2);
    m_timeout->setRange(0, 86400);
    m_timeout->setSpecialValueText(tr("none"));
    m_timeout->setSuffix(tr(" s"));
    m_error->setStyleSheet(QStringLiteral("color: #c62828"));
    m_error->setWordWrap(true);

    auto *form = new QFormLayout;
    form->addRow(tr("Job name:"), m_name);
    form->addRow(tr("Inputs:"), m_kind);
    form->addRow(m_pages);
    form->addRow(tr("Retries:"), m_retries);
    form->addRow(tr("Timeout per task:"), m_timeout);
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

std::optional<sched::JobSpec> PluginInputsDialog::jobSpec(QString *error) const
{
    sched::JobSpec spec;
    spec.name = m_name->text().trimmed().isEmpty() ? m_plugin.name : m_name->text().trimmed();
    spec.plugin = m_plugin;
    spec.retries = m_retries->value();
    spec.timeoutMs = qint64(m_timeout->value()) * 1000;
    switch (m_kind->currentIndex()) {
    case 0: {
        const QStringList lines = m_list->toPlainText().split(QLatin1Char('\n'));
        for (int i = 0; i < lines.size(); ++i) {
            const QString line = lines.at(i).trimmed();
            if (line.isEmpty())
                continue;
            QJsonParseError parseError;
            const QJsonDocument doc = QJsonDocument::fromJson("[" + line.toUtf8() + "]", &parseError);
            if (parseError.error != QJsonParseError::NoError || doc.array().size() != 1) {
                *error = tr("line %1: not one JSON value: %2").arg(i + 1).arg(line);
                return std::nullopt;
            }
            spec.inputs.append(QCborValue::fromJsonValue(doc.array().at(0)));
        }
        break;
    }
    case 1: {
        const qint64 start = m_start->value(), stop = m_stop->value(), step = m_step->value();
        if (step == 0) {
            *error = tr("range: step must not be 0");
            return std::nullopt;
        }
        const qint64 count = step > 0 ? (stop - start + step - 1) / step : (start - stop - step - 1) / -step;
        if (count > sched::MaxJobInputs) {
            *error = tr("range: %1 inputs, more than the limit of %2").arg(count).arg(sched::MaxJobInputs);
            return std::nullopt;
        }
        for (qint64 v = start, k = 0; k < count; v += step, ++k)
            spec.inputs.append(QCborValue(v));
        break;
    }
    default: {
        QFile f(m_file->text());
        if (!f.open(QIODevice::ReadOnly | QIODevice::Text)) {
            *error = tr("%1: %2").arg(m_file->text(), f.errorString());
            return std::nullopt;
        }
        const QList<QByteArray> lines = f.readAll().split('\n');
        for (const QByteArray &line : lines)
            if (!line.isEmpty())
                spec.inputs.append(QCborValue(QString::fromUtf8(line)));
        break;
    }
    }
    if (spec.inputs.isEmpty()) {
        *error = tr("the job has no inputs");
        return std::nullopt;
    }
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
