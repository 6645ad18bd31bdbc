// The panel speaks English, Spanish and Portuguese from the first screen. The language comes from
// GHL (?lang= on the custom page URL, when configured) or else the browser's Accept-Language.
export const LOCALES = ["en", "es", "pt"] as const;
export type Locale = (typeof LOCALES)[number];

const en = {
  "panel.title": "WhatsApp numbers",
  "panel.connecting": "Connecting to GoHighLevel…",
  "panel.location": "Location",
  "panel.switch": "Switch location",
  "panel.empty.title": "No WhatsApp numbers yet",
  "panel.empty.body": "Link a WhatsApp number by QR code to send and receive this location's messages.",
  "panel.signedInAs": "Signed in as",
  "err.title": "The panel cannot open",
  "err.not_framed": "Open this page from the app's menu inside GoHighLevel.",
  "err.not_installed":
    "The app is not installed for this location (or it was uninstalled). Install it from the GoHighLevel Marketplace.",
  "err.invalid_payload":
    "GoHighLevel's user data could not be verified. Reload the page; if it persists, check the app's Shared Secret.",
  "err.expired": "Your session has expired. Reload the page inside GoHighLevel.",
  "err.no_location": "Your agency has no location with this app installed yet.",
  "err.timeout": "GoHighLevel did not answer. Reload the page.",
  "err.no_access": "Your GoHighLevel user does not have access to this location (any more). Ask an agency admin.",
  "err.roles_unavailable": "GoHighLevel could not confirm which locations you may open. Reload the page in a minute.",
  "panel.adminOnly": "Only an admin of this location can add or delete numbers, change settings or manage API keys.",
  "installed.title": "Installed",
  "installed.lead": "The WhatsApp Gateway is now installed for:",
  "installed.company": "Whole agency (bulk install)",
  "installed.next": "Open the app from each location's menu in GoHighLevel to link WhatsApp numbers.",
  "installed.err.title": "The installation did not complete",
  "installed.err.state": "This install link has expired or was already used. Start the installation again.",
  "installed.err.denied": "The installation was cancelled in GoHighLevel.",
  "installed.err.exchange": "GoHighLevel did not confirm the installation. Start it again.",
  "installed.again": "Install again",
};
export type MessageKey = keyof typeof en;

const es: Record<MessageKey, string> = {
  "panel.title": "Números de WhatsApp",
  "panel.connecting": "Conectando con GoHighLevel…",
  "panel.location": "Subcuenta",
  "panel.switch": "Cambiar de subcuenta",
  "panel.empty.title": "Aún no hay números de WhatsApp",
  "panel.empty.body":
    "Vincula un número de WhatsApp con un código QR para enviar y recibir los mensajes de esta subcuenta.",
  "panel.signedInAs": "Sesión iniciada como",
  "err.title": "No se puede abrir el panel",
  "err.not_framed": "Abre esta página desde el menú de la aplicación dentro de GoHighLevel.",
  "err.not_installed":
    "La aplicación no está instalada en esta subcuenta (o fue desinstalada). Instálala desde el Marketplace de GoHighLevel.",
  "err.invalid_payload":
    "No se pudieron verificar los datos del usuario de GoHighLevel. Recarga la página; si persiste, revisa el Shared Secret de la aplicación.",
  "err.expired": "Tu sesión ha caducado. Recarga la página dentro de GoHighLevel.",
  "err.no_location": "Tu agencia aún no tiene ninguna subcuenta con esta aplicación instalada.",
  "err.timeout": "GoHighLevel no respondió. Recarga la página.",
  "err.no_access":
    "Tu usuario de GoHighLevel no tiene (o ya no tiene) acceso a esta subcuenta. Pídeselo a un administrador de la agencia.",
  "err.roles_unavailable": "GoHighLevel no pudo confirmar qué subcuentas puedes abrir. Recarga la página en un minuto.",
  "panel.adminOnly":
    "Solo un administrador de esta subcuenta puede añadir o eliminar números, cambiar la configuración o gestionar claves de API.",
  "installed.title": "Instalada",
  "installed.lead": "WhatsApp Gateway ya está instalada para:",
  "installed.company": "Toda la agencia (instalación masiva)",
  "installed.next":
    "Abre la aplicación desde el menú de cada subcuenta en GoHighLevel para vincular números de WhatsApp.",
  "installed.err.title": "La instalación no se completó",
  "installed.err.state": "Este enlace de instalación caducó o ya se usó. Vuelve a iniciar la instalación.",
  "installed.err.denied": "La instalación se canceló en GoHighLevel.",
  "installed.err.exchange": "GoHighLevel no confirmó la instalación. Vuelve a iniciarla.",
  "installed.again": "Instalar de nuevo",
};

const pt: Record<MessageKey, string> = {
  "panel.title": "Números de WhatsApp",
  "panel.connecting": "Conectando ao GoHighLevel…",
  "panel.location": "Subconta",
  "panel.switch": "Trocar de subconta",
  "panel.empty.title": "Nenhum número de WhatsApp ainda",
  "panel.empty.body": "Vincule um número de WhatsApp por QR code para enviar e receber as mensagens desta subconta.",
  "panel.signedInAs": "Conectado como",
  "err.title": "Não é possível abrir o painel",
  "err.not_framed": "Abra esta página pelo menu do aplicativo dentro do GoHighLevel.",
  "err.not_installed":
    "O aplicativo não está instalado nesta subconta (ou foi desinstalado). Instale-o pelo Marketplace do GoHighLevel.",
  "err.invalid_payload":
    "Não foi possível verificar os dados do usuário do GoHighLevel. Recarregue a página; se persistir, confira o Shared Secret do aplicativo.",
  "err.expired": "Sua sessão expirou. Recarregue a página dentro do GoHighLevel.",
  "err.no_location": "Sua agência ainda não tem nenhuma subconta com este aplicativo instalado.",
  "err.timeout": "O GoHighLevel não respondeu. Recarregue a página.",
  "err.no_access":
    "Seu usuário do GoHighLevel não tem (ou não tem mais) acesso a esta subconta. Peça a um administrador da agência.",
  "err.roles_unavailable":
    "O GoHighLevel não conseguiu confirmar quais subcontas você pode abrir. Recarregue a página em um minuto.",
  "panel.adminOnly":
    "Somente um administrador desta subconta pode adicionar ou excluir números, alterar as configurações ou gerenciar chaves de API.",
  "installed.title": "Instalado",
  "installed.lead": "O WhatsApp Gateway agora está instalado para:",
  "installed.company": "Toda a agência (instalação em massa)",
  "installed.next": "Abra o aplicativo pelo menu de cada subconta no GoHighLevel para vincular números de WhatsApp.",
  "installed.err.title": "A instalação não foi concluída",
  "installed.err.state": "Este link de instalação expirou ou já foi usado. Comece a instalação novamente.",
  "installed.err.denied": "A instalação foi cancelada no GoHighLevel.",
  "installed.err.exchange": "O GoHighLevel não confirmou a instalação. Comece novamente.",
  "installed.again": "Instalar novamente",
};

const ALL: Record<Locale, Record<MessageKey, string>> = { en, es, pt };

export type Messages = Record<MessageKey, string>;
export const messagesFor = (l: Locale): Messages => ALL[l];

/** `?lang=` wins, then Accept-Language in the browser's order of preference; English otherwise. */
export function pickLocale(acceptLanguage: string | null | undefined, override?: string | null): Locale {
  const norm = (s: string) => s.trim().toLowerCase().slice(0, 2);
  if (override && (LOCALES as readonly string[]).includes(norm(override))) return norm(override) as Locale;
  const prefs = (acceptLanguage ?? "")
    .split(",")
    .map((part) => {
      const [tag, ...params] = part.split(";");
      const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
      return { lang: norm(tag), q: q ? Number(q.slice(2)) || 0 : 1 };
    })
    .filter((p) => p.lang && p.q > 0)
    .sort((a, b) => b.q - a.q);
  return (prefs.find((p) => (LOCALES as readonly string[]).includes(p.lang))?.lang as Locale | undefined) ?? "en";
}
