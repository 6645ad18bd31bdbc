import type { Locale } from "./messages";

// Texts of the alerts banner and the per-number stats, in the panel's three languages.
const en = {
  "alerts.title": "Needs attention",
  "alerts.acknowledge": "Dismiss",
  "alerts.adminOnly": "An admin of this location can dismiss it.",
  "alerts.status.DISCONNECTED": "{number} is disconnected",
  "alerts.status.LOGGED_OUT": "{number} was logged out",
  "alerts.status.BANNED": "{number} was blocked by WhatsApp",
  "alerts.status.RESTRICTED": "{number} is restricted",
  "stats.sent": "Sent today",
  "stats.received": "Received today",
  "stats.failed": "Failed today",
  "stats.allowance": "Today's allowance",
  "stats.newChats": "new chats",
  "stats.messages": "messages",
  "stats.lastActivity": "Last activity",
  "stats.never": "none yet",
};
export type AlertsKey = keyof typeof en;

const es: Record<AlertsKey, string> = {
  "alerts.title": "Requiere atención",
  "alerts.acknowledge": "Descartar",
  "alerts.adminOnly": "Un administrador de esta subcuenta puede descartarlo.",
  "alerts.status.DISCONNECTED": "{number} está desconectado",
  "alerts.status.LOGGED_OUT": "Se cerró la sesión de {number}",
  "alerts.status.BANNED": "WhatsApp bloqueó {number}",
  "alerts.status.RESTRICTED": "{number} está restringido",
  "stats.sent": "Enviados hoy",
  "stats.received": "Recibidos hoy",
  "stats.failed": "Fallidos hoy",
  "stats.allowance": "Cupo de hoy",
  "stats.newChats": "chats nuevos",
  "stats.messages": "mensajes",
  "stats.lastActivity": "Última actividad",
  "stats.never": "ninguna aún",
};

const pt: Record<AlertsKey, string> = {
  "alerts.title": "Requer atenção",
  "alerts.acknowledge": "Dispensar",
  "alerts.adminOnly": "Um administrador desta subconta pode dispensá-lo.",
  "alerts.status.DISCONNECTED": "{number} está desconectado",
  "alerts.status.LOGGED_OUT": "A sessão de {number} foi encerrada",
  "alerts.status.BANNED": "O WhatsApp bloqueou {number}",
  "alerts.status.RESTRICTED": "{number} está restrito",
  "stats.sent": "Enviadas hoje",
  "stats.received": "Recebidas hoje",
  "stats.failed": "Com falha hoje",
  "stats.allowance": "Limite de hoje",
  "stats.newChats": "conversas novas",
  "stats.messages": "mensagens",
  "stats.lastActivity": "Última atividade",
  "stats.never": "nenhuma ainda",
};

const ALL: Record<Locale, Record<AlertsKey, string>> = { en, es, pt };
export type AlertsMessages = Record<AlertsKey, string>;
export const alertsMessages = (l: Locale): AlertsMessages => ALL[l];
