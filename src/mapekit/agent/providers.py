"""From the agent's configuration to what the provisioning client needs."""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable

from mapekit import __version__
from mapekit.agent.config import (
    AgentConfig,
    Dhcpv6Settings,
    DsliteSettings,
    Hb46ppSettings,
    IpipSettings,
    JpneSettings,
    OcnSettings,
    StaticSettings,
)
from mapekit.agent.updater import Updater
from mapekit.client.fetch import (
    Dhcpv6Source,
    DsliteSource,
    Hb46ppSource,
    IpipSource,
    JpneSource,
    OcnSource,
    ProviderConfig,
    StaticSource,
)
from mapekit.client.http import HttpSettings
from mapekit.client.update import UpdateUrl
from mapekit.core.rule import IidFormat
from mapekit.core.tables import builtin_rules, load_rule_file
from mapekit.provision.hb46pp import ClientIdentity
from mapekit.provision.hgw import BIGLOBE_PATH

HB46PP_IDENTITY = ("000000-mapekit", "mapekit")


def provider_config(config: AgentConfig) -> ProviderConfig:
    """The provider of ``config`` as the client runs it (rule files are read here)."""
    match config.settings:
        case StaticSettings(rules_file=path, isp=isp):
            rules = load_rule_file(path) if path else builtin_rules()
            return StaticSource(rules.filter(isp))
        case JpneSettings() as jpne:
            return JpneSource(jpne.url, jpne.vendor_code, isp=jpne.isp, iid=IidFormat(jpne.iid),
                              http=HttpSettings(ca_file=jpne.ca_file))  # fmt: skip
        case OcnSettings() as ocn:
            return OcnSource(ocn.url, ocn.vendor_code, isp="ocn", iid=IidFormat(ocn.iid),
                             http=HttpSettings(ca_file=ocn.ca_file))  # fmt: skip
        case Hb46ppSettings() as hb:
            vendor, product = HB46PP_IDENTITY
            return Hb46ppSource(
                ClientIdentity(vendor, product, __version__.replace(".", "_")),
                url=hb.url, dns_server=hb.dns_server,
                allow_insecure_discovery=hb.insecure_discovery,
                http=HttpSettings(ca_file=hb.ca_file), prefer=hb.prefer,
            )  # fmt: skip
        case Dhcpv6Settings(options_file=path):
            return Dhcpv6Source(options_file=path)
        case DsliteSettings() as ds:
            return DsliteSource(ds.aftr, ds.aftr_file, ds.dns_server)
        case IpipSettings() as ip:
            iid = int(ipaddress.IPv6Address(ip.interface_id)) if ip.interface_id else None
            return IpipSource(ip.remote, ip.ipv4, iid)


def hgw_url(config: AgentConfig) -> str | None:
    """The HGW check URL; BIGLOBE's HGWs answer on their own path."""
    url = config.hgw_url
    settings = config.settings
    if url and isinstance(settings, JpneSettings) and settings.isp == "biglobe":
        return url.replace("/enabler.ipv4/check", BIGLOBE_PATH)
    return url


def reports(config: AgentConfig) -> bool:
    return isinstance(config.settings, JpneSettings) and config.settings.report


def make_updater(
    config: AgentConfig, stop: threading.Event,
    report: Callable[[str, dict[str, object]], None],
    wall: Callable[[], float] = time.time,
) -> Updater | None:  # fmt: skip
    """The IPIP update URL's caller, when the configuration has an update URL."""
    ipip = config.update
    if ipip is None or ipip.update_url is None:
        return None
    update = UpdateUrl(ipip.update_url, ipip.update_user, ipip.update_password)
    return Updater(update, HttpSettings(ca_file=ipip.ca_file), report, stop, wall)
