{
    "patcher": {
        "fileversion": 1,
        "appversion": {
            "major": 8,
            "minor": 5,
            "revision": 5,
            "architecture": "x64",
            "modernui": 1
        },
        "classnamespace": "box",
        "rect": [
            40.0,
            60.0,
            900.0,
            620.0
        ],
        "bglocked": 0,
        "openinpresentation": 1,
        "default_fontsize": 12.0,
        "default_fontface": 0,
        "default_fontname": "Arial",
        "gridonopen": 1,
        "gridsize": [
            15.0,
            15.0
        ],
        "gridsnaponopen": 1,
        "objectsnaponopen": 1,
        "statusbarvisible": 2,
        "toolbarvisible": 1,
        "lefttoolbarpinned": 0,
        "toptoolbarpinned": 0,
        "righttoolbarpinned": 0,
        "bottomtoolbarpinned": 0,
        "toolbars_unpinned_last_save": 0,
        "tallnewobj": 0,
        "boxanimatetime": 200,
        "enablehscroll": 1,
        "enablevscroll": 1,
        "devicewidth": 320,
        "description": "",
        "digest": "",
        "tags": "",
        "style": "",
        "subpatcher_template": "",
        "assistshowspatchername": 0,
        "boxes": [
            {
                "box": {
                    "id": "obj-1",
                    "maxclass": "newobj",
                    "numinlets": 1,
                    "numoutlets": 1,
                    "patching_rect": [
                        20,
                        20,
                        50,
                        22
                    ],
                    "outlettype": [
                        ""
                    ],
                    "text": "midiin"
                }
            },
            {
                "box": {
                    "id": "obj-2",
                    "maxclass": "newobj",
                    "numinlets": 1,
                    "numoutlets": 0,
                    "patching_rect": [
                        20,
                        50,
                        55,
                        22
                    ],
                    "outlettype": [],
                    "text": "midiout"
                }
            },
            {
                "box": {
                    "id": "obj-3",
                    "maxclass": "newobj",
                    "numinlets": 1,
                    "numoutlets": 2,
                    "patching_rect": [
                        300,
                        300,
                        140,
                        22
                    ],
                    "outlettype": [
                        "",
                        ""
                    ],
                    "text": "js cadenza_live.js"
                }
            },
            {
                "box": {
                    "id": "obj-4",
                    "maxclass": "newobj",
                    "numinlets": 1,
                    "numoutlets": 0,
                    "patching_rect": [
                        300,
                        360,
                        160,
                        22
                    ],
                    "outlettype": [],
                    "text": "udpsend 127.0.0.1 9000"
                }
            },
            {
                "box": {
                    "id": "obj-5",
                    "maxclass": "newobj",
                    "numinlets": 1,
                    "numoutlets": 1,
                    "patching_rect": [
                        500,
                        250,
                        120,
                        22
                    ],
                    "outlettype": [
                        ""
                    ],
                    "text": "udpreceive 9125"
                }
            },
            {
                "box": {
                    "id": "obj-6",
                    "maxclass": "newobj",
                    "numinlets": 1,
                    "numoutlets": 3,
                    "patching_rect": [
                        300,
                        20,
                        100,
                        22
                    ],
                    "outlettype": [
                        "",
                        "",
                        ""
                    ],
                    "text": "live.thisdevice"
                }
            },
            {
                "box": {
                    "id": "obj-7",
                    "maxclass": "message",
                    "numinlets": 2,
                    "numoutlets": 1,
                    "patching_rect": [
                        300,
                        50,
                        40,
                        22
                    ],
                    "text": "init",
                    "outlettype": [
                        ""
                    ]
                }
            },
            {
                "box": {
                    "id": "obj-8",
                    "maxclass": "comment",
                    "numinlets": 1,
                    "numoutlets": 0,
                    "patching_rect": [
                        100,
                        20,
                        80,
                        20
                    ],
                    "presentation": 1,
                    "presentation_rect": [
                        8,
                        4,
                        90,
                        20
                    ],
                    "text": "Cadenza",
                    "fontsize": 14
                }
            },
            {
                "box": {
                    "id": "obj-9",
                    "maxclass": "live.menu",
                    "numinlets": 1,
                    "numoutlets": 3,
                    "patching_rect": [
                        20,
                        120,
                        100,
                        15
                    ],
                    "presentation": 1,
                    "presentation_rect": [
                        8,
                        30,
                        100,
                        15
                    ],
                    "outlettype": [
                        "",
                        "",
                        ""
                    ],
                    "varname": "model",
                    "saved_attribute_attributes": {
                        "valueof": {
                            "parameter_longname": "Model",
                            "parameter_shortname": "Model",
                            "parameter_type": 2,
                            "parameter_enum": [
                                "piano",
                                "chorale",
                                "sonata-kern",
                                "messages",
                                "melody",
                                "chorale-infill",
                                "piano-infill",
                                "drums"
                            ],
                            "parameter_initial": [
                                0
                            ]
                        }
                    }
                }
            },
            {
                "box": {
                    "id": "obj-10",
                    "maxclass": "newobj",
                    "numinlets": 1,
                    "numoutlets": 1,
                    "patching_rect": [
                        20,
                        150,
                        90,
                        22
                    ],
                    "outlettype": [
                        ""
                    ],
                    "text": "prepend model"
                }
            },
            {
                "box": {
                    "id": "obj-11",
                    "maxclass": "live.dial",
                    "numinlets": 1,
                    "numoutlets": 2,
                    "patching_rect": [
                        140,
                        110,
                        44,
                        48
                    ],
                    "presentation": 1,
                    "presentation_rect": [
                        116,
                        26,
                        44,
                        48
                    ],
                    "outlettype": [
                        "int/float",
                        "int/float"
                    ],
                    "varname": "temperature",
                    "saved_attribute_attributes": {
                        "valueof": {
                            "parameter_longname": "Temperature",
                            "parameter_shortname": "Temp",
                            "parameter_type": 0,
                            "parameter_mmin": 0.1,
                            "parameter_mmax": 2.0,
                            "parameter_initial": [
                                1.0
                            ],
                            "parameter_unitstyle": 1
                        }
                    }
                }
            },
            {
                "box": {
                    "id": "obj-12",
                    "maxclass": "newobj",
                    "numinlets": 1,
                    "numoutlets": 1,
                    "patching_rect": [
                        140,
                        170,
                        120,
                        22
                    ],
                    "outlettype": [
                        ""
                    ],
                    "text": "prepend temperature"
                }
            },
            {
                "box": {
                    "id": "obj-13",
                    "maxclass": "live.numbox",
                    "numinlets": 1,
                    "numoutlets": 2,
                    "patching_rect": [
                        280,
                        120,
                        40,
                        15
                    ],
                    "presentation": 1,
                    "presentation_rect": [
                        170,
                        30,
                        40,
                        15
                    ],
                    "outlettype": [
                        "int/float",
                        "int/float"
                    ],
                    "varname": "variations",
                    "saved_attribute_attributes": {
                        "valueof": {
                            "parameter_longname": "Variations",
                            "parameter_shortname": "Var",
                            "parameter_type": 1,
                            "parameter_mmin": 1,
                            "parameter_mmax": 8,
                            "parameter_initial": [
                                1
                            ]
                        }
                    }
                }
            },
            {
                "box": {
                    "id": "obj-14",
                    "maxclass": "newobj",
                    "numinlets": 1,
                    "numoutlets": 1,
                    "patching_rect": [
                        280,
                        150,
                        110,
                        22
                    ],
                    "outlettype": [
                        ""
                    ],
                    "text": "prepend variations"
                }
            },
            {
                "box": {
                    "id": "obj-15",
                    "maxclass": "comment",
                    "numinlets": 1,
                    "numoutlets": 0,
                    "patching_rect": [
                        330,
                        118,
                        90,
                        20
                    ],
                    "presentation": 1,
                    "presentation_rect": [
                        212,
                        28,
                        60,
                        18
                    ],
                    "text": "variations"
                }
            },
            {
                "box": {
                    "id": "obj-16",
                    "maxclass": "live.numbox",
                    "numinlets": 1,
                    "numoutlets": 2,
                    "patching_rect": [
                        420,
                        120,
                        40,
                        15
                    ],
                    "presentation": 1,
                    "presentation_rect": [
                        170,
                        52,
                        40,
                        15
                    ],
                    "outlettype": [
                        "int/float",
                        "int/float"
                    ],
                    "varname": "bars",
                    "saved_attribute_attributes": {
                        "valueof": {
                            "parameter_longname": "Bars",
                            "parameter_shortname": "Bars",
                            "parameter_type": 1,
                            "parameter_mmin": 1,
                            "parameter_mmax": 64,
                            "parameter_initial": [
                                4
                            ]
                        }
                    }
                }
            },
            {
                "box": {
                    "id": "obj-17",
                    "maxclass": "newobj",
                    "numinlets": 1,
                    "numoutlets": 1,
                    "patching_rect": [
                        420,
                        150,
                        80,
                        22
                    ],
                    "outlettype": [
                        ""
                    ],
                    "text": "prepend bars"
                }
            },
            {
                "box": {
                    "id": "obj-18",
                    "maxclass": "comment",
                    "numinlets": 1,
                    "numoutlets": 0,
                    "patching_rect": [
                        470,
                        118,
                        54,
                        20
                    ],
                    "presentation": 1,
                    "presentation_rect": [
                        212,
                        50,
                        40,
                        18
                    ],
                    "text": "bars"
                }
            },
            {
                "box": {
                    "id": "obj-19",
                    "maxclass": "live.numbox",
                    "numinlets": 1,
                    "numoutlets": 2,
                    "patching_rect": [
                        560,
                        120,
                        40,
                        15
                    ],
                    "presentation": 1,
                    "presentation_rect": [
                        170,
                        74,
                        40,
                        15
                    ],
                    "outlettype": [
                        "int/float",
                        "int/float"
                    ],
                    "varname": "density",
                    "saved_attribute_attributes": {
                        "valueof": {
                            "parameter_longname": "Density",
                            "parameter_shortname": "Dens",
                            "parameter_type": 1,
                            "parameter_mmin": 0,
                            "parameter_mmax": 16,
                            "parameter_initial": [
                                0
                            ]
                        }
                    }
                }
            },
            {
                "box": {
                    "id": "obj-20",
                    "maxclass": "newobj",
                    "numinlets": 1,
                    "numoutlets": 1,
                    "patching_rect": [
                        560,
                        150,
                        90,
                        22
                    ],
                    "outlettype": [
                        ""
                    ],
                    "text": "prepend density"
                }
            },
            {
                "box": {
                    "id": "obj-21",
                    "maxclass": "comment",
                    "numinlets": 1,
                    "numoutlets": 0,
                    "patching_rect": [
                        610,
                        118,
                        72,
                        20
                    ],
                    "presentation": 1,
                    "presentation_rect": [
                        212,
                        72,
                        60,
                        18
                    ],
                    "text": "density"
                }
            },
            {
                "box": {
                    "id": "obj-22",
                    "maxclass": "live.text",
                    "numinlets": 1,
                    "numoutlets": 2,
                    "patching_rect": [
                        20,
                        220,
                        80,
                        20
                    ],
                    "presentation": 1,
                    "presentation_rect": [
                        8,
                        52,
                        100,
                        20
                    ],
                    "outlettype": [
                        "",
                        ""
                    ],
                    "varname": "continue",
                    "mode": 0,
                    "saved_attribute_attributes": {
                        "valueof": {
                            "parameter_longname": "Continue",
                            "parameter_shortname": "Continue",
                            "parameter_type": 2,
                            "parameter_enum": [
                                "off",
                                "on"
                            ]
                        }
                    },
                    "text": "Continue"
                }
            },
            {
                "box": {
                    "id": "obj-23",
                    "maxclass": "newobj",
                    "numinlets": 2,
                    "numoutlets": 2,
                    "patching_rect": [
                        20,
                        250,
                        40,
                        22
                    ],
                    "outlettype": [
                        "",
                        ""
                    ],
                    "text": "sel 1"
                }
            },
            {
                "box": {
                    "id": "obj-24",
                    "maxclass": "message",
                    "numinlets": 2,
                    "numoutlets": 1,
                    "patching_rect": [
                        20,
                        280,
                        60,
                        22
                    ],
                    "text": "continue",
                    "outlettype": [
                        ""
                    ]
                }
            },
            {
                "box": {
                    "id": "obj-25",
                    "maxclass": "live.text",
                    "numinlets": 1,
                    "numoutlets": 2,
                    "patching_rect": [
                        120,
                        220,
                        80,
                        20
                    ],
                    "presentation": 1,
                    "presentation_rect": [
                        116,
                        78,
                        50,
                        18
                    ],
                    "outlettype": [
                        "",
                        ""
                    ],
                    "varname": "infill",
                    "mode": 0,
                    "saved_attribute_attributes": {
                        "valueof": {
                            "parameter_longname": "Infill",
                            "parameter_shortname": "Infill",
                            "parameter_type": 2,
                            "parameter_enum": [
                                "off",
                                "on"
                            ]
                        }
                    },
                    "text": "Infill"
                }
            },
            {
                "box": {
                    "id": "obj-26",
                    "maxclass": "newobj",
                    "numinlets": 2,
                    "numoutlets": 2,
                    "patching_rect": [
                        120,
                        250,
                        40,
                        22
                    ],
                    "outlettype": [
                        "",
                        ""
                    ],
                    "text": "sel 1"
                }
            },
            {
                "box": {
                    "id": "obj-27",
                    "maxclass": "message",
                    "numinlets": 2,
                    "numoutlets": 1,
                    "patching_rect": [
                        120,
                        280,
                        70,
                        22
                    ],
                    "text": "infill",
                    "outlettype": [
                        ""
                    ]
                }
            },
            {
                "box": {
                    "id": "obj-28",
                    "maxclass": "live.text",
                    "numinlets": 1,
                    "numoutlets": 2,
                    "patching_rect": [
                        20,
                        460,
                        80,
                        20
                    ],
                    "presentation": 1,
                    "presentation_rect": [
                        170,
                        78,
                        60,
                        18
                    ],
                    "outlettype": [
                        "",
                        ""
                    ],
                    "varname": "generate",
                    "mode": 0,
                    "saved_attribute_attributes": {
                        "valueof": {
                            "parameter_longname": "Generate",
                            "parameter_shortname": "Generate",
                            "parameter_type": 2,
                            "parameter_enum": [
                                "off",
                                "on"
                            ]
                        }
                    },
                    "text": "Generate"
                }
            },
            {
                "box": {
                    "id": "obj-29",
                    "maxclass": "newobj",
                    "numinlets": 2,
                    "numoutlets": 2,
                    "patching_rect": [
                        20,
                        490,
                        40,
                        22
                    ],
                    "outlettype": [
                        "",
                        ""
                    ],
                    "text": "sel 1"
                }
            },
            {
                "box": {
                    "id": "obj-30",
                    "maxclass": "message",
                    "numinlets": 2,
                    "numoutlets": 1,
                    "patching_rect": [
                        20,
                        520,
                        70,
                        22
                    ],
                    "text": "generate",
                    "outlettype": [
                        ""
                    ]
                }
            },
            {
                "box": {
                    "id": "obj-31",
                    "maxclass": "live.text",
                    "numinlets": 1,
                    "numoutlets": 2,
                    "patching_rect": [
                        120,
                        460,
                        80,
                        20
                    ],
                    "presentation": 1,
                    "presentation_rect": [
                        8,
                        128,
                        60,
                        18
                    ],
                    "outlettype": [
                        "",
                        ""
                    ],
                    "varname": "groove",
                    "mode": 0,
                    "saved_attribute_attributes": {
                        "valueof": {
                            "parameter_longname": "Groove",
                            "parameter_shortname": "Groove",
                            "parameter_type": 2,
                            "parameter_enum": [
                                "off",
                                "on"
                            ]
                        }
                    },
                    "text": "Groove"
                }
            },
            {
                "box": {
                    "id": "obj-32",
                    "maxclass": "newobj",
                    "numinlets": 2,
                    "numoutlets": 2,
                    "patching_rect": [
                        120,
                        490,
                        40,
                        22
                    ],
                    "outlettype": [
                        "",
                        ""
                    ],
                    "text": "sel 1"
                }
            },
            {
                "box": {
                    "id": "obj-33",
                    "maxclass": "message",
                    "numinlets": 2,
                    "numoutlets": 1,
                    "patching_rect": [
                        120,
                        520,
                        70,
                        22
                    ],
                    "text": "groove",
                    "outlettype": [
                        ""
                    ]
                }
            },
            {
                "box": {
                    "id": "obj-34",
                    "maxclass": "live.text",
                    "numinlets": 1,
                    "numoutlets": 2,
                    "patching_rect": [
                        220,
                        460,
                        80,
                        20
                    ],
                    "presentation": 1,
                    "presentation_rect": [
                        72,
                        128,
                        60,
                        18
                    ],
                    "outlettype": [
                        "",
                        ""
                    ],
                    "varname": "drumify",
                    "mode": 0,
                    "saved_attribute_attributes": {
                        "valueof": {
                            "parameter_longname": "Drumify",
                            "parameter_shortname": "Drumify",
                            "parameter_type": 2,
                            "parameter_enum": [
                                "off",
                                "on"
                            ]
                        }
                    },
                    "text": "Drumify"
                }
            },
            {
                "box": {
                    "id": "obj-35",
                    "maxclass": "newobj",
                    "numinlets": 2,
                    "numoutlets": 2,
                    "patching_rect": [
                        220,
                        490,
                        40,
                        22
                    ],
                    "outlettype": [
                        "",
                        ""
                    ],
                    "text": "sel 1"
                }
            },
            {
                "box": {
                    "id": "obj-36",
                    "maxclass": "message",
                    "numinlets": 2,
                    "numoutlets": 1,
                    "patching_rect": [
                        220,
                        520,
                        70,
                        22
                    ],
                    "text": "drumify",
                    "outlettype": [
                        ""
                    ]
                }
            },
            {
                "box": {
                    "id": "obj-37",
                    "maxclass": "live.text",
                    "numinlets": 1,
                    "numoutlets": 2,
                    "patching_rect": [
                        320,
                        460,
                        80,
                        20
                    ],
                    "presentation": 1,
                    "presentation_rect": [
                        136,
                        128,
                        70,
                        18
                    ],
                    "outlettype": [
                        "",
                        ""
                    ],
                    "varname": "interpolate",
                    "mode": 0,
                    "saved_attribute_attributes": {
                        "valueof": {
                            "parameter_longname": "Interpolate",
                            "parameter_shortname": "Interpol",
                            "parameter_type": 2,
                            "parameter_enum": [
                                "off",
                                "on"
                            ]
                        }
                    },
                    "text": "Interpolate"
                }
            },
            {
                "box": {
                    "id": "obj-38",
                    "maxclass": "newobj",
                    "numinlets": 2,
                    "numoutlets": 2,
                    "patching_rect": [
                        320,
                        490,
                        40,
                        22
                    ],
                    "outlettype": [
                        "",
                        ""
                    ],
                    "text": "sel 1"
                }
            },
            {
                "box": {
                    "id": "obj-39",
                    "maxclass": "message",
                    "numinlets": 2,
                    "numoutlets": 1,
                    "patching_rect": [
                        320,
                        520,
                        70,
                        22
                    ],
                    "text": "interpolate",
                    "outlettype": [
                        ""
                    ]
                }
            },
            {
                "box": {
                    "id": "obj-40",
                    "maxclass": "message",
                    "numinlets": 2,
                    "numoutlets": 1,
                    "patching_rect": [
                        300,
                        420,
                        400,
                        22
                    ],
                    "presentation": 1,
                    "presentation_rect": [
                        8,
                        152,
                        300,
                        22
                    ],
                    "text": "start `cadenza serve`, then select a MIDI clip",
                    "outlettype": [
                        ""
                    ],
                    "varname": "status"
                }
            }
        ],
        "lines": [
            {
                "patchline": {
                    "source": [
                        "obj-1",
                        0
                    ],
                    "destination": [
                        "obj-2",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-3",
                        0
                    ],
                    "destination": [
                        "obj-4",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-5",
                        0
                    ],
                    "destination": [
                        "obj-3",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-6",
                        0
                    ],
                    "destination": [
                        "obj-7",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-7",
                        0
                    ],
                    "destination": [
                        "obj-3",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-9",
                        1
                    ],
                    "destination": [
                        "obj-10",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-10",
                        0
                    ],
                    "destination": [
                        "obj-3",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-11",
                        0
                    ],
                    "destination": [
                        "obj-12",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-12",
                        0
                    ],
                    "destination": [
                        "obj-3",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-13",
                        0
                    ],
                    "destination": [
                        "obj-14",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-14",
                        0
                    ],
                    "destination": [
                        "obj-3",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-16",
                        0
                    ],
                    "destination": [
                        "obj-17",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-17",
                        0
                    ],
                    "destination": [
                        "obj-3",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-19",
                        0
                    ],
                    "destination": [
                        "obj-20",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-20",
                        0
                    ],
                    "destination": [
                        "obj-3",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-22",
                        0
                    ],
                    "destination": [
                        "obj-23",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-23",
                        0
                    ],
                    "destination": [
                        "obj-24",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-24",
                        0
                    ],
                    "destination": [
                        "obj-3",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-25",
                        0
                    ],
                    "destination": [
                        "obj-26",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-26",
                        0
                    ],
                    "destination": [
                        "obj-27",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-27",
                        0
                    ],
                    "destination": [
                        "obj-3",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-28",
                        0
                    ],
                    "destination": [
                        "obj-29",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-29",
                        0
                    ],
                    "destination": [
                        "obj-30",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-30",
                        0
                    ],
                    "destination": [
                        "obj-3",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-31",
                        0
                    ],
                    "destination": [
                        "obj-32",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-32",
                        0
                    ],
                    "destination": [
                        "obj-33",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-33",
                        0
                    ],
                    "destination": [
                        "obj-3",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-34",
                        0
                    ],
                    "destination": [
                        "obj-35",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-35",
                        0
                    ],
                    "destination": [
                        "obj-36",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-36",
                        0
                    ],
                    "destination": [
                        "obj-3",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-37",
                        0
                    ],
                    "destination": [
                        "obj-38",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-38",
                        0
                    ],
                    "destination": [
                        "obj-39",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-39",
                        0
                    ],
                    "destination": [
                        "obj-3",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-3",
                        1
                    ],
                    "destination": [
                        "obj-40",
                        0
                    ],
                    "order": 0
                }
            }
        ],
        "dependency_cache": [],
        "autosave": 0
    }
}
